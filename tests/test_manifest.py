"""manifest.json and campaign.json: one writer (atomic), one reader that refuses a version it does
not know in one line naming the file; every vlmbench file is written by one atomic helper."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vlmbench.cli import main
from vlmbench.errors import SchemaError
from vlmbench.results.manifest import (read_campaign_record, read_manifest, write_campaign_record,
                                       write_manifest)
from vlmbench.vocab.files import MANIFEST_VERSION, write_atomic

SRC = Path(__file__).resolve().parent.parent / "src" / "vlmbench"


def test_a_manifest_reads_back_as_written(tmp_path):
    write_manifest(tmp_path, {"run_id": "r1", "config": {"repeats": 2}, "models": {}, "rows_expected": 4})
    data = read_manifest(tmp_path)
    assert data["manifest_version"] == MANIFEST_VERSION and data["run_id"] == "r1" and data["rows_expected"] == 4
    assert read_manifest(tmp_path / "nothing-here") is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("text, needle", [
    (json.dumps({"manifest_version": "99", "run_id": "r"}), "manifest_version '99' not understood"),
    ("{not json", "not valid JSON"),
    (json.dumps(["a list"]), "not a JSON object"),
    (json.dumps({"manifest_version": "1", "rows_expected": "many"}), "rows_expected"),
])
def test_a_manifest_this_version_cannot_read_is_refused_in_one_line(tmp_path, text, needle):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(SchemaError) as caught:
        read_manifest(tmp_path)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "manifest.json")) and needle in message and "\n" not in message


def test_resume_of_a_run_with_an_unknown_manifest_version_is_exit_2(tmp_path, capsys):
    run = tmp_path / "run1"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"manifest_version": "7", "config": {"models": ["m"]}}))
    assert main(["run", "--resume", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "manifest_version '7' not understood" in err


def test_campaign_record_is_versioned_like_the_manifest(tmp_path):
    write_campaign_record(tmp_path / "campaign.json", {"name": "c", "run_id": "r", "targets": {}, "jobs": {}})
    assert read_campaign_record(tmp_path)["campaign_version"] == "1"
    (tmp_path / "campaign.json").write_text(json.dumps({"campaign_version": "2", "name": "c", "run_id": "r"}))
    with pytest.raises(SchemaError, match="campaign_version '2' not understood"):
        read_campaign_record(tmp_path)


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary_one(tmp_path):
    path = tmp_path / "f.json"
    write_atomic(path, "old\n")
    with pytest.raises(TypeError):
        write_atomic(path, b"bytes are not text")  # fails after the temporary file was opened
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["f.json"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_one_atomic_write_helper_in_the_package():
    writers = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
               if re.search(r"\bmkstemp\(|\bos\.replace\(", p.read_text(encoding="utf-8"))]
    assert writers == ["vocab/files.py"]
