"""Shared material for the report / compare / site tests (no tests here).

- :func:`load_run` : a second REAL run of the runner (tiny LLaVA at batch sizes 1 and 2, plus the
  ``raise-tiny`` plugin model whose every forward raises, so the run has real error rows),
  made once per test session and shared by every report test module;
- :func:`copy_run` : a copy of a real run, rewritten row by row through the real ``RowWriter``
  (used to relabel a run as a second machine, to inject a documented slowdown for ``compare``,
  and to add rows with hostile model ids, which a real run cannot produce);
- :data:`HOSTILE_*` strings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable

from conftest import TINY, few_prompt_ids

from vlmbench.config import RunConfig
from vlmbench.results.reader import read_rows
from vlmbench.results.writer import RowWriter
from vlmbench.runner import run_benchmark

HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_FORMULA = '=HYPERLINK("http://x","y")'
HOSTILE_ERROR = '<img src=x onerror=alert(2)> "quoted" & more'
HOSTILE_HOST = "<b onmouseover=alert(3)>host</b>"

_SESSION: dict[str, Path] = {}


def load_run(tmp_path_factory) -> Path:
    """Run dir of a real run: TINY at batch 1 and 2 (2 prompts x 2 repeats) + raise-tiny (all error)."""
    if "load" not in _SESSION:
        out = tmp_path_factory.mktemp("load-run")
        config = RunConfig(models=[TINY, "raise-tiny"], plugins=["plugins.crashing_models"], max_new_tokens=4,
                           repeats=2, warmup=1, prompts=few_prompt_ids(2), batch_sizes=[1, 2], out=out,
                           run_id="load-run", progress=False)
        _SESSION["load"] = run_benchmark(config).run_dir
    return _SESSION["load"]


RowChange = Callable[[dict[str, Any]], Iterable[dict[str, Any]]]


def copy_run(src: Path, dst_root: Path, run_id: str, change_row: RowChange = lambda r: [r],
             change_manifest: Callable[[dict[str, Any]], None] = lambda m: None) -> Path:
    """Copy a run folder under a new run id; every row is passed through ``change_row`` (which
    yields zero or more rows) and written with the real RowWriter; the manifest is copied with
    its run id replaced and then handed to ``change_manifest``."""
    dst = dst_root / run_id
    dst.mkdir(parents=True)
    with RowWriter(dst / "requests.csv") as writer:
        for row in read_rows(src / "requests.csv"):
            for new in change_row(dict(row, run_id=run_id)):
                writer.write(new)
    manifest = json.loads((src / "manifest.json").read_text())
    manifest["run_id"] = run_id
    change_manifest(manifest)
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dst


TIME_COLUMNS = ("preprocess_ms", "vision_ms", "prefill_ms", "ttft_ms", "ttft_user_ms", "tpot_ms", "itl_p50_ms",
                "itl_p99_ms", "e2e_ms")
RATE_COLUMNS = ("decode_tps", "window_output_tps", "window_rps")


def slowed_down(factor: float) -> RowChange:
    """Every time of a row multiplied by ``factor`` and every rate divided by it: the same requests,
    ``factor`` times slower (token arrival times scaled too)."""

    def change(row: dict[str, Any]) -> list[dict[str, Any]]:
        new = dict(row)
        for c in TIME_COLUMNS:
            if new.get(c) is not None:
                new[c] = new[c] * factor
        for c in RATE_COLUMNS:
            if new.get(c) is not None:
                new[c] = new[c] / factor
        if new.get("token_times_ms"):
            new["token_times_ms"] = " ".join(f"{float(t) * factor:.3f}" for t in new["token_times_ms"].split())
        return [new]

    return change


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


HOSTILE_HARDWARE = '"><svg onload=alert(4)>'
MACHINE_B = "Example Accelerator B (relabelled copy)"


def hostile_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Each real row three times, under three hostile model ids, on a hostile hardware label;
    the first request of each also as a failed row whose error text is hostile."""
    out = []
    for model in (HOSTILE_SCRIPT, HOSTILE_FORMULA, "price $5 and $6"):
        new = dict(row, model_id=model, hardware=HOSTILE_HARDWARE,
                   request_id=row["request_id"].replace(row["model_id"], model))
        out.append(new)
        if row["cold"]:
            failed = {k: new[k] for k in ("run_id", "model_id", "system", "weights", "backend", "device", "dtype",
                                         "hardware", "scenario", "promptset_version", "prompt_id", "repeat")}
            out.append(dict(failed, request_id=new["request_id"] + "|failed", status="error", error=HOSTILE_ERROR))
    return out


def hostile_run(src: Path, dst_root: Path) -> Path:
    def manifest(m: dict[str, Any]) -> None:
        m["environment"]["hostname"] = HOSTILE_HOST

    return copy_run(src, dst_root, "hostile", hostile_rows, manifest)


def machine_b_run(src: Path, dst_root: Path) -> Path:
    """A second machine, simulated: a copy of a real run relabelled with another hardware label and
    GPU fingerprint (merging runs of several machines is what the site does; this CPU-only test
    machine cannot produce a run on other hardware)."""

    def manifest(m: dict[str, Any]) -> None:
        m["environment"]["hostname"] = "machine-b"
        m["environment"]["gpus"] = [{"index": 0, "name": MACHINE_B, "memory_mb": 81559}]

    return copy_run(src, dst_root, "machine-b", lambda r: [dict(r, hardware=MACHINE_B)], manifest)


def demo_site(tmp_path_factory, tiny_dir: Path):
    """The site built once per session from: the tiny run, the load run, machine B, the hostile run."""
    if "site" not in _SESSION:
        from vlmbench.cli.site import project_metrics_file
        from vlmbench.report.site.build import build_site

        root = tmp_path_factory.mktemp("site-runs")
        runs = [tiny_dir, load_run(tmp_path_factory), machine_b_run(tiny_dir, root), hostile_run(tiny_dir, root)]
        metrics = project_metrics_file()
        site = build_site(runs, tmp_path_factory.mktemp("site") / "site",
                          metrics_markdown=metrics.read_text() if metrics else None)
        _SESSION["site"] = site.out_dir
        _SESSION["site_obj"] = site  # type: ignore[assignment]
    return _SESSION["site_obj"]
