"""``vlmbench publish`` and ``vlmbench archive verify`` on real runs: idempotence, refusals with one
line naming the run, partial runs, immutability, a publisher SIGKILLed mid-copy, two publishers
at once, the lock, a flipped byte, and ``vlmbench.results.load`` reading an archive by its index."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from test_archive_support import day, dated_copy, real_runs

from vlmbench.archive.publish import ADDED, ALREADY, REFUSED, publish
from vlmbench.archive.verify import verify_archive
from vlmbench.errors import SchemaError
from vlmbench.results import load
from vlmbench.results.archive_index import INDEX_FILE, read_index


@pytest.fixture(scope="module")
def r1(tmp_path_factory) -> Path:
    return real_runs(tmp_path_factory)["R1"]


def _index_bytes(archive: Path) -> bytes:
    return (archive / INDEX_FILE).read_bytes()


def test_publish_is_idempotent_and_organised_by_hardware_and_date(r1, tmp_path):
    archive = tmp_path / "archive"
    first = run_cli("publish", str(r1), "--archive", str(archive))
    assert first.returncode == 0, first.stderr
    assert "archived at runs/" in first.stdout and "1 added" in first.stdout
    index = read_index(archive)
    [entry] = index["runs"]
    rows = load(r1)
    assert entry["run_id"] == "real-r1" and entry["rows"] == len(rows) and not entry["partial"]
    assert entry["hardware"] == rows["hardware"].iloc[0]
    assert entry["path"].startswith("runs/") and entry["path"].endswith(f"/{entry['date']}/real-r1")
    assert entry["date"] == json.loads((r1 / "manifest.json").read_text())["started_at"][:10]
    archived = archive / entry["path"]
    assert (archived / "requests.csv").read_bytes() == (r1 / "requests.csv").read_bytes()
    assert not os.access(archived / "requests.csv", os.W_OK) or os.geteuid() == 0  # read-only copy
    before = _index_bytes(archive)

    again = run_cli("publish", str(r1), "--archive", str(archive))
    assert again.returncode == 0 and "already archived (same content)" in again.stdout
    assert "0 added, 1 already there" in again.stdout
    assert _index_bytes(archive) == before  # a no-op: not even the index is rewritten


def test_campaign_folder_publishes_every_run_below_it(r1, tmp_path):
    campaign = tmp_path / "results" / "nightly"
    def of_campaign(m):  # as the campaign runner writes it: the run's manifest names its campaign
        m["campaign"] = {"name": "nightly", "target": {"label": "x"}}

    dated_copy(r1, campaign / "target-a", "camp-a", day(1), change_manifest=of_campaign)
    dated_copy(r1, campaign / "target-b", "camp-b", day(2), change_manifest=of_campaign)
    (campaign / "manifest.json").write_text(json.dumps({"name": "nightly"}))  # the campaign's own: not a run
    outcomes = publish([campaign], tmp_path / "archive")
    assert sorted(o.run_id for o in outcomes if o.status == ADDED) == ["camp-a", "camp-b"] and len(outcomes) == 2
    assert {e["campaign"] for e in read_index(tmp_path / "archive")["runs"]} == {"nightly"}


def test_refusals_name_the_run_and_keep_the_archive(r1, tmp_path):
    archive = tmp_path / "archive"
    assert publish([r1], archive)[0].status == ADDED
    before = _index_bytes(archive)

    future = dated_copy(r1, tmp_path / "bad", "future-schema", day(2))
    text = (future / "requests.csv").read_text()
    header, first, rest = text.split("\n", 2)
    (future / "requests.csv").write_text("\n".join([header, "9" + first[first.index(","):], rest]))

    torn = dated_copy(r1, tmp_path / "bad", "torn", day(3))
    with open(torn / "requests.csv", "a") as fh:
        fh.write("2,torn,half a row")

    short = dated_copy(r1, tmp_path / "bad", "short", day(4), change_row=lambda r: [] if r["repeat"] == 2 else [r])

    changed = dated_copy(r1, tmp_path / "bad", "real-r1", day(5))  # same id, other content

    proc = run_cli("publish", str(future), str(torn), str(short), str(changed), "--archive", str(archive))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("refused")]
    assert len(lines) == 4
    assert "run future-schema:" in lines[0] and "schema version '9'" in lines[0]
    assert "run torn:" in lines[1] and "torn last row" in lines[1] and "--allow-partial" in lines[1]
    assert "run short:" in lines[2] and "rows present" in lines[2]
    assert "run real-r1: already archived with different content" in lines[3]
    assert _index_bytes(archive) == before
    assert verify_archive(archive).ok

    partial = run_cli("publish", str(torn), str(short), "--archive", str(archive), "--allow-partial")
    assert partial.returncode == 0, partial.stderr
    assert partial.stdout.count("PARTIAL") == 2
    flags = {e["run_id"]: e["partial"] for e in read_index(archive)["runs"]}
    assert flags == {"real-r1": False, "torn": True, "short": True}
    frame = load(archive)
    assert set(frame.loc[frame["partial"], "run_id"]) == {"torn", "short"}
    assert str(frame["run_started_at"].dtype).startswith("datetime64") and frame["archive_date"].notna().all()


def test_loading_a_run_folder_is_unchanged_and_an_unknown_index_version_is_refused(r1, tmp_path):
    frame = load(r1)
    assert "partial" not in frame.columns and frame["run_dir"].iloc[0] == str(r1)
    archive = tmp_path / "archive"
    publish([r1], archive)
    index = json.loads((archive / INDEX_FILE).read_text())
    index["archive_version"] = "99"
    (archive / INDEX_FILE).write_text(json.dumps(index))
    with pytest.raises(SchemaError, match="archive version '99' is not one this vlmbench reads"):
        load(archive)
    proc = run_cli("history", "--archive", str(archive))
    assert proc.returncode == 2 and "archive version '99'" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_verify_names_a_flipped_byte_a_missing_file_and_an_unrecorded_one(r1, tmp_path):
    archive = tmp_path / "archive"
    publish([r1, dated_copy(r1, tmp_path / "other", "other", day(2))], archive)
    ok = run_cli("archive", "verify", str(archive))
    assert ok.returncode == 0 and ": OK" in ok.stdout
    entry = next(e for e in read_index(archive)["runs"] if e["run_id"] == "real-r1")
    target = archive / entry["path"] / "requests.csv"
    os.chmod(target, 0o644)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    other = next(e for e in read_index(archive)["runs"] if e["run_id"] == "other")
    (archive / other["path"] / "manifest.json").unlink()
    (archive / other["path"] / "notes.txt").write_text("added later")
    bad = run_cli("archive", "verify", str(archive))
    assert bad.returncode == 1
    problems = bad.stderr.splitlines()
    assert f"BAD: run real-r1: {entry['path']}/requests.csv: sha256 mismatch" in problems[0] or any(
        f"run real-r1: {entry['path']}/requests.csv: sha256 mismatch" in p for p in problems)
    assert any(f"run other: {other['path']}/manifest.json is missing" in p for p in problems)
    assert any(f"run other: {other['path']}/notes.txt is not in the index" in p for p in problems)
    assert len(problems) == 3


def _big_run(r1: Path, root: Path) -> Path:
    """A real run's copy with a large extra file, so that copying it in takes a while."""
    run = dated_copy(r1, root, "big", day(3))
    with open(run / "token-trace.bin", "wb") as fh:
        fh.write(os.urandom(1 << 20) * 96)
    return run


def test_publisher_sigkilled_mid_copy_leaves_a_valid_archive(r1, tmp_path):
    archive = tmp_path / "archive"
    publish([r1], archive)
    before = _index_bytes(archive)
    big = _big_run(r1, tmp_path / "src")
    proc = subprocess.Popen([sys.executable, "-m", "vlmbench", "publish", str(big), "--archive", str(archive)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # test-side wait for the copy to begin
        incoming = [p for p in archive.glob(".incoming-*") if any(p.iterdir())]
        if incoming:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the publisher finished before it could be killed mid-copy"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(archive.glob(".incoming-*")), "killed while copying: the unfinished copy is still there"
    assert _index_bytes(archive) == before  # the archive is as it was
    result = verify_archive(archive)
    assert result.ok and any("unfinished copy" in n for n in result.notes)
    assert set(load(archive)["run_id"]) == {"real-r1"}

    after = run_cli("publish", str(big), "--archive", str(archive))  # the next publish completes it
    assert after.returncode == 0, after.stderr
    assert not list(archive.glob(".incoming-*"))
    result = verify_archive(archive)
    assert result.ok and not result.notes and result.runs == 2


def test_a_copy_renamed_in_but_not_indexed_is_adopted(r1, tmp_path):
    archive = tmp_path / "archive"
    publish([r1], archive)
    run = dated_copy(r1, tmp_path / "src", "renamed-in", day(4))
    import shutil

    from vlmbench.archive.inspect import inspect_run
    from vlmbench.archive.layout import run_path

    facts = inspect_run(run, allow_partial=False)
    shutil.copytree(run, archive / run_path(facts.hardware, facts.date, facts.run_id))  # killed before the index
    note = verify_archive(archive)
    assert note.ok and any("not in the index" in n for n in note.notes)
    [outcome] = publish([run], archive)
    assert outcome.status == ADDED and "adopted" in outcome.message
    assert verify_archive(archive).ok and not verify_archive(archive).notes


def test_two_publishers_at_once_both_land(r1, tmp_path):
    archive = tmp_path / "archive"
    a = [dated_copy(r1, tmp_path / "a", f"a{n}", day(n)) for n in range(1, 4)]
    b = [dated_copy(r1, tmp_path / "b", f"b{n}", day(n)) for n in range(1, 4)]
    procs = [subprocess.Popen([sys.executable, "-m", "vlmbench", "publish", *map(str, runs), "--archive", str(archive)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for runs in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    ids = sorted(e["run_id"] for e in read_index(archive)["runs"])
    assert ids == ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert verify_archive(archive).ok


def test_a_held_lock_makes_publish_wait_or_give_up(r1, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    with open(archive / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        gave_up = run_cli("publish", str(r1), "--archive", str(archive), "--wait", "0.5")
        assert gave_up.returncode == 2 and "another publisher is still running" in gave_up.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "vlmbench", "publish", str(r1), "--archive", str(archive)],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert waiting.poll() is None  # blocked on the lock
        fcntl.flock(held, fcntl.LOCK_UN)
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0 and "1 added" in out, err
    assert [o.status for o in publish([r1], archive)] == [ALREADY]
    assert REFUSED not in {o.status for o in publish([r1], archive)}
