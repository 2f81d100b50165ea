"""``vlmbench site --archive DIR -o SITE``: the static site of an archive.

Layout (relative links only, local assets only: works from ``file://`` and any static host)::

    index.html            leaderboard of current values, one sortable table per hardware, filter
    hardware.html         the same model across machines side by side, with ratios
    models/<slug>.html    per model: trend charts (inline SVG), change points, every run
    methodology.html      metric definitions (METRICS.md), aggregation, prompt set
    data/index.json       the archive's index as it is; data/index.csv the same, one row per run
    data/current.csv      current values; data/history.csv every run median with its CI
    runs/<hw>/<date>/<run_id>/requests.csv, manifest.json   copies of every run's raw files

Every page is written to a temporary file and renamed into place.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd

from vlmbench.archive.history import build_history
from vlmbench.archive.series import DEFAULT_LAST_N
from vlmbench.archive_site.pages import hardware_comparison_html, leaderboard_html, model_page_html
from vlmbench.report.export_csv import write_csv
from vlmbench.report.html import copy_assets, json_for_script, page
from vlmbench.report.site.methodology import methodology_html
from vlmbench.results.archive_index import read_index
from vlmbench.results.frame import load
from vlmbench.vocab.files import write_atomic
from vlmbench.vocab.slug import slug

NAV_ROOT = (("index.html", "Leaderboard"), ("hardware.html", "Hardware comparison"),
            ("methodology.html", "Methodology"), ("data/index.csv", "Index (CSV)"), ("data/index.json", "Index (JSON)"))
NAV_MODEL = tuple((f"../{href}", label) for href, label in NAV_ROOT)
RAW_FILES = ("requests.csv", "manifest.json")
INDEX_CSV_COLUMNS = ("run_id", "hardware", "date", "started_at", "ended_at", "published_at", "partial", "why_partial",
                     "rows", "rows_expected", "models", "scenarios", "promptset_versions", "schema_versions",
                     "campaign", "path", "content_sha256", "requests_csv")


@dataclass
class ArchiveSite:
    out_dir: Path
    model_pages: dict[str, Path] = field(default_factory=dict)
    runs: int = 0
    series: int = 0

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def model_file(model_id: str) -> str:
    return f"models/{slug(model_id)}.html"


def _write(path: Path, text: str) -> None:
    write_atomic(path, text)


def _frame_rows(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if v is pd.NA or (isinstance(v, float) and v != v) else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


def build_archive_site(archive: str | os.PathLike, out_dir: str | os.PathLike,
                       metrics_markdown: Optional[str] = None, last_n: int = DEFAULT_LAST_N,
                       days: Optional[float] = None, extra_html: str = "") -> ArchiveSite:
    """``extra_html``: a section appended to the leaderboard page (the predictions section)."""
    archive, out = Path(archive), Path(out_dir)
    index = read_index(archive)
    frame = load(archive)
    history = build_history(frame, last_n=last_n, days=days)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)

    run_paths = {str(e["run_id"]): str(e["path"]) for e in index["runs"]}
    for entry in index["runs"]:
        for name in RAW_FILES:
            src = archive / entry["path"] / name
            if src.is_file():
                target = out / entry["path"] / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
                os.chmod(target, 0o644)

    _write(out / "data" / "index.json", json_for_script(index) + "\n")
    flat = [{**{k: (" ".join(map(str, v)) if isinstance(v, list) else v) for k, v in e.items() if k != "files"},
             "requests_csv": f"{e['path']}/requests.csv"} for e in index["runs"]]
    write_csv(out / "data" / "index.csv", INDEX_CSV_COLUMNS, flat)
    current, medians = history.current, history.medians
    write_csv(out / "data" / "current.csv", list(current.columns), _frame_rows(current))
    write_csv(out / "data" / "history.csv", [c for c in medians.columns if c != "run_dir"], _frame_rows(medians))

    window = f"last {days:g} days" if days is not None else f"last {last_n} runs"
    _write(out / "index.html", page("VLM response-time leaderboard (history)",
                                    leaderboard_html(current, history.changes, model_file, window) + extra_html,
                                    nav=NAV_ROOT))
    _write(out / "hardware.html", page("Hardware comparison", hardware_comparison_html(current, model_file),
                                       nav=NAV_ROOT))
    versions = set(medians["promptset_version"].dropna().astype(str)) if len(medians) else set()
    _write(out / "methodology.html", page("Methodology", methodology_html(metrics_markdown, versions), nav=NAV_ROOT))

    def run_href(run_id: str) -> Optional[str]:
        path = run_paths.get(run_id)
        return f"../{path}/requests.csv" if path else None

    site = ArchiveSite(out, runs=len(index["runs"]), series=len(current))
    for model_id, rows in medians.groupby("model_id", sort=True):
        model_id = str(model_id)
        body = model_page_html(model_id, rows, current[current["model_id"] == model_id],
                               history.changes[history.changes["model_id"] == model_id] if len(history.changes)
                               else history.changes, run_href)
        path = out / model_file(model_id)
        _write(path, page(model_id, body, root="..", nav=NAV_MODEL))
        site.model_pages[model_id] = path
    return site
