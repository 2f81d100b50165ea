"""The runner: a plan of cells, one worker process per model, rows flushed as measured."""

from vlmbench.runner.orchestrator import RunResult, run_benchmark

__all__ = ["RunResult", "run_benchmark"]
