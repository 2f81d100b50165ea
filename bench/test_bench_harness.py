"""pytest-benchmark: the per-token and per-row costs the harness adds.

Run with: python -m pytest bench/test_bench_harness.py --benchmark-only
(not part of the test suite: these are timings, and timings belong here, not in tests/).
"""

from __future__ import annotations

import torch

from vlmbench.measure.clock import TokenClock
from vlmbench.metrics import Timeline, compute_request_metrics
from vlmbench.results.writer import RowWriter, format_row


def test_streamer_put_per_token(benchmark):
    """The streamer's cost per generated token (a timestamp and a list append)."""
    clock = TokenClock()
    clock.put(torch.zeros(1, 600, dtype=torch.long))
    token = torch.zeros(1, dtype=torch.long)
    benchmark(clock.put, token)


def test_request_metrics_from_a_timeline(benchmark):
    """Deriving every per-request metric from 256 token timestamps."""
    t = Timeline(start_ns=0, token_ns=[1_000_000 * (i + 10) for i in range(256)], prompt_ns=5_000_000,
                 vision_start_ms=1.0, vision_end_ms=4.0, preprocess_ms=3.0)
    benchmark(compute_request_metrics, t)


def test_row_format_and_append(benchmark, tmp_path):
    """Formatting one full row and appending it to requests.csv (one write syscall)."""
    row = {"run_id": "r", "request_id": "m|b1-n32|p|r0|s0", "model_id": "m", "status": "ok", "ttft_ms": 12.5,
           "token_times_ms": " ".join(f"{i * 4.2:.3f}" for i in range(256))}
    writer = RowWriter(tmp_path / "requests.csv")
    benchmark(writer.write, row)
    writer.close()
    assert format_row(row).endswith("\n")
