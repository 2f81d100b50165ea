"""Shared fixtures: real tiny runs of the real runner, and a CLI runner in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = "llava-1.5-7b-tiny"
FEW_PROMPTS = None  # filled lazily: the first three ids of the packaged set


def few_prompt_ids(n: int = 3) -> list[str]:
    from vlmbench.promptset import load_promptset

    return load_promptset().ids()[:n]


def processes_where(match: Callable[[list[str]], bool]) -> list:
    """Live processes whose command line (a list of arguments) satisfies ``match``."""
    import psutil

    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if match(p.info["cmdline"] or []):
                out.append(p)
        except psutil.Error:
            pass
    return out


def none_left(match: Callable[[list[str]], bool], within_s: float, poll_s: float = 0.2) -> bool:
    """True once no process matches ``match``, polling for at most ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not processes_where(match):
            return True
        time.sleep(poll_s)
    return False


def assert_engine_died_mid_window(first: list, second: list, repeats: int, n_tokens: int) -> list[str]:
    """The rows of a run whose first model's engine was SIGKILLed during its window (``first``: that window's
    rows, its cold request included; ``second``: the next model's rows): what was measured before the death
    is kept, the rest are ``engine_died`` errors naming the signal and the log's last lines, and the next model
    went on."""
    cold = [r for r in first if r["cold"]]
    window = [r for r in first if not r["cold"]]
    assert len(cold) == 1 and cold[0]["status"] == "ok" and cold[0]["ttft_ms"] > 0
    ok = [r for r in window if r["status"] == "ok"]
    failed = [r for r in window if r["status"] != "ok"]
    assert len(ok) >= 2 and all(r["ttft_ms"] > 0 and r["n_output_tokens"] == n_tokens for r in ok)  # measured before
    assert failed and len(ok) + len(failed) == repeats - 1
    for r in failed:
        assert r["status"] == "error" and r["error"].startswith("engine_died: the engine died (killed by SIGKILL)")
        assert "last log lines:" in r["error"] and "the engine exited unasked" in r["error"], r["error"]
    assert all(r["status"] == "ok" and r["ttft_ms"] > 0 for r in second), {r["error"] for r in second}


def engine_ports(run_dir: Path) -> list[str]:
    """The port each model's engine was started on, from the manifest's resolved command lines."""
    import json

    models = json.loads((run_dir / "manifest.json").read_text())["models"]
    return [m["engine"]["command"][m["engine"]["command"].index("--port") + 1] for m in models.values()]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m vlmbench ARGS`` in a fresh interpreter, as a user would run it."""
    full_env = dict(os.environ)
    full_env.setdefault("HF_HUB_OFFLINE", "1")
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "vlmbench", *args],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One real run of the tiny LLaVA through the full runner: 3 prompts x 2 repeats, 4 tokens."""
    from vlmbench.config import RunConfig
    from vlmbench.runner import run_benchmark

    out = tmp_path_factory.mktemp("results")
    config = RunConfig(models=[TINY], max_new_tokens=4, repeats=2, warmup=1,
                       prompts=few_prompt_ids(3), out=out, progress=False)
    return run_benchmark(config)


# Fixtures that run the full runner, start a server, an engine, a Ray cluster or a browser, or
# build a site from real runs: every test that uses one (directly or through another fixture) is
# end-to-end and gets the ``slow`` marker here, so ``pytest -m "not slow"`` stays a fast run and a
# new end-to-end test cannot forget its marker. Tests that start the CLI or the runner themselves
# carry ``@pytest.mark.slow`` in their file.
END_TO_END_FIXTURES = frozenset({
    "tiny_run", "tiny_rows", "r1", "models_json", "runs", "pair", "eager_static", "sdpa_dynamic", "series",
    "archive", "built", "server", "tls_server", "cli_run", "serve", "server_url", "browser", "site",
    "rows_by_model", "paced", "warm_rows", "cluster", "started",
})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if END_TO_END_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
