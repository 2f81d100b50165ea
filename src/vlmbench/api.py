"""vlmbench from Python: :func:`run`, :func:`load`, :func:`report`, :func:`compare` and
:class:`Run`; the names ``import vlmbench`` exposes (see ``vlmbench.__all__``).

Workers are started by a fork server, so a script that calls :func:`run` keeps its top level
behind ``if __name__ == "__main__":`` (README, "From Python")::

    import vlmbench

    if __name__ == "__main__":
        result = vlmbench.run(vlmbench.RunConfig(models=["llava-1.5-7b-tiny"], max_new_tokens=8))
        print(result.frame.groupby("model_id")["ttft_ms"].median())

Bad input raises :class:`vlmbench.UsageError` with the one line the CLI prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Union

from vlmbench.config import RunConfig

if TYPE_CHECKING:
    import pandas as pd

    from vlmbench.report.compare import Comparison

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Run:
    """One run folder: its rows (``frame``, a typed DataFrame) and its ``manifest``."""

    run_dir: Path
    by_status: dict[str, int] = field(default_factory=dict, compare=False)  # rows written by this call

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @cached_property
    def frame(self) -> "pd.DataFrame":
        """Every row of the run (``requests.csv``), typed (see ``vlmbench.results.frame``)."""
        return load(self.run_dir)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """``manifest.json``: configuration, backend, prompt set, environment, per-model facts."""
        from vlmbench.errors import SchemaError
        from vlmbench.results.manifest import read_manifest

        manifest = read_manifest(self.run_dir)
        if manifest is None:
            raise SchemaError(f"{self.run_dir}: no manifest.json (not a vlmbench run folder)")
        return manifest


def run(config: Optional[RunConfig] = None, **options: Any) -> Run:
    """Benchmark as ``vlmbench run`` does and return the run. ``config``: a :class:`RunConfig`
    (default: the built-in default suite's models with the default options); ``options``: flat
    option values applied on top (``repeats=2``, ``backend="openai", endpoint=...``)."""
    from vlmbench.runner import run_benchmark

    config = config or RunConfig()
    if options:
        config = config.replace(**options)
    result = run_benchmark(config)
    return Run(Path(result.run_dir), dict(result.by_status))


def load(*paths: PathLike) -> "pd.DataFrame":
    """Rows of run folders, requests.csv files, campaign folders or an archive, as one typed
    DataFrame (one row per measured request)."""
    from vlmbench.results import load as load_rows

    return load_rows([Path(p) for p in paths])


def report(runs: Union[PathLike, Run, Iterable[Union[PathLike, Run]]], out: Optional[PathLike] = None) -> Path:
    """Build the report of ``runs`` (summary.csv, tables.md, index.html, charts) into ``out``
    (default: ``reports/<first run id>``); returns the folder."""
    from vlmbench.report.build import build_report
    from vlmbench.report.runs import load_run

    dirs = [str(r.run_dir if isinstance(r, Run) else r) for r in _many(runs)]
    folder = Path(out) if out is not None else Path("reports") / load_run(dirs[0]).run_id
    build_report(dirs, folder)
    return folder


def compare(run_a: Union[PathLike, Run], run_b: Union[PathLike, Run], *,
            between_run_noise_pct: Optional[float] = None, alpha: Optional[float] = None,
            min_effect_pct: Optional[float] = None) -> "Comparison":
    """Run B against run A per model, scenario and prompt (paired), as ``vlmbench compare``.
    Without ``between_run_noise_pct`` the between-run noise is unknown and no change is called
    a regression (``comparison.unverified(pct)`` lists what would need it)."""
    from vlmbench.report import compare as cmp
    from vlmbench.report.runs import load_run

    a, b = (load_run(str(r.run_dir if isinstance(r, Run) else r)) for r in (run_a, run_b))
    noise = cmp.fixed_noise(between_run_noise_pct) if between_run_noise_pct is not None else None
    note = f"±{between_run_noise_pct:g}% as stated" if between_run_noise_pct is not None else ""
    return cmp.compare_runs(a, b, cmp.DEFAULT_ALPHA if alpha is None else alpha,
                            cmp.DEFAULT_MIN_EFFECT_PCT if min_effect_pct is None else min_effect_pct,
                            noise=noise, noise_note=note)


def _many(value: Any) -> list[Any]:
    if isinstance(value, (str, os.PathLike, Run)):
        return [value]
    return list(value)
