"""Campaign rows at batch > 1 come from one attempt per window, and ``--resume`` re-runs what it
must: the real driver-side sink and writer, with the real failure rows of real planned cells
(no Ray needed: the sink is what every executor delivers to).

- a window whose first attempt sent part of its rows and was lost is written whole from the
  attempt that completes it (replaces, never mixes);
- on ``--resume`` the rows of a window only partly on disk are removed, so it runs again whole;
- ``--retry-failed`` removes skipped, failed and timed-out rows (not OOM ones) so they run again,
  and the manifest's counts follow; without ``--resume`` it is refused in one line.
"""

from __future__ import annotations

import json

import pytest

from vlmbench.cli import main
from vlmbench.jobs.rows import failure_rows
from vlmbench.results.reader import read_rows
from vlmbench.results.schema import Status
from vlmbench.results.writer import RowWriter
from vlmbench.runner.campaign import CampaignSink, _units
from vlmbench.runner.campaign_file import parse_campaign
from vlmbench.runner.progress import Progress

CAMPAIGN = """\
name: windows
suite:
  models: [llava-1.5-7b-tiny]
  prompts: [diagram-shapes-336x336, chart-bar-640x480, photo-cat-451x300, chart-pie-672x672]
  batch_sizes: [2]
  repeats: 1
  warmup: 0
  max_new_tokens: 2
targets:
  - {label: cpu, device: cpu}
"""


@pytest.fixture
def planned(tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_text(CAMPAIGN)
    campaign = parse_campaign(path)
    out = tmp_path / "results"
    runs, units = _units(campaign, "rid", out, resume=False)
    return campaign, out, runs, units


def _rows(unit, cell, error: str, status: Status = Status.ERROR) -> list[dict]:
    from vlmbench.backends import backend_class

    base = backend_class(unit.config.backend).fallback_columns(unit.config)
    return failure_rows(unit.run_id, unit.config, cell, unit.promptset, status, error, base)


def _sink(runs, units, out):
    record = {"name": "windows", "run_id": "r1", "targets": {},  # the fields every campaign.json has
              "jobs": {u.key: {"target": u.target, "attempts": []} for u in units}}
    for run in runs.values():
        run.writer = RowWriter(run.run_dir / "requests.csv")
    return CampaignSink(runs, record, out / "campaign.json", Progress(0, enabled=False))


def test_a_window_lost_part_way_is_written_whole_from_the_attempt_that_completes_it(planned):
    _, out, runs, units = planned
    unit = units[0]
    cell = unit.job.cells[0]
    assert len(cell.request_ids()) == 2  # one window of two rows
    sink = _sink(runs, units, out)
    sink.row(unit, _rows(unit, cell, "attempt 1")[0])  # the first attempt sends one row, then its node dies
    assert cell in sink.missing_cells(unit)  # nothing of the window is written yet
    sink.interrupted(unit, "node lost")
    for row in _rows(unit, cell, "attempt 2"):  # the second attempt, elsewhere, sends the whole window
        sink.row(unit, row)
    runs["cpu"].writer.close()
    rows = read_rows(runs["cpu"].run_dir / "requests.csv")
    assert sorted(r["request_id"] for r in rows) == sorted(cell.request_ids())
    assert {r["error"] for r in rows} == {"attempt 2"}


def test_resume_reruns_a_partly_written_window_and_retry_failed_reruns_failures(planned, tmp_path, capsys):
    campaign, out, runs, units = planned
    unit = units[0]
    first, second = unit.job.cells[:2]
    csv = runs["cpu"].run_dir / "requests.csv"
    with RowWriter(csv) as writer:  # on disk: window 1 complete but skipped, window 2 half written
        for row in _rows(unit, first, "no node", Status.SKIPPED):
            writer.write(row)
        writer.write(_rows(unit, second, "torn")[0])
    manifest = json.loads((runs["cpu"].run_dir / "manifest.json").read_text())
    manifest.update(rows_by_status={"skipped": 2, "error": 1}, rows_written=3)
    (runs["cpu"].run_dir / "manifest.json").write_text(json.dumps(manifest))

    _, resumed = _units(campaign, "rid", out, resume=True)
    ids = {r["request_id"] for r in read_rows(csv)}
    assert ids == set(first.request_ids())  # the half window is gone, the skipped window stays
    assert [c.window_id for c in resumed[0].job.cells] == [c.window_id for c in unit.job.cells[1:]]

    _, retried = _units(campaign, "rid", out, resume=True, retry_failed=True)
    assert read_rows(csv) == []  # the skipped rows are removed too: everything runs again
    assert [c.window_id for c in retried[0].job.cells] == [c.window_id for c in unit.job.cells]
    manifest = json.loads((runs["cpu"].run_dir / "manifest.json").read_text())
    assert manifest["rows_written"] == 0 and manifest["rows_by_status"] == {"skipped": 0, "error": 0}

    assert main(["campaign", str(tmp_path / "windows.yaml"), "--retry-failed"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--retry-failed: only with --resume DIR" in err and len(err.splitlines()) == 1
