"""Schema versions 1 and 2 side by side, and ``vlmbench.results.load`` (the typed DataFrame)."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from vlmbench import results
from vlmbench.errors import SchemaError
from vlmbench.results.reader import read_rows
from vlmbench.results.schema import COLUMNS_BY_VERSION, SCHEMA_VERSION
from vlmbench.results.writer import RowWriter

V1_NAMES = [c.name for c in COLUMNS_BY_VERSION["1"]]


def _write_v1(path, rows):
    """A file exactly as the version-1 release wrote it: its header, its cells."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(V1_NAMES)
        for r in rows:
            w.writerow(["1" if n == "schema_version" else r.get(n, "") for n in V1_NAMES])


def _row(**kw):
    base = {"run_id": "r1", "request_id": "m|b1-n4|p|r0|s0", "model_id": "m", "status": "ok",
            "ttft_ms": 12.5, "n_output_tokens": 4, "cold": False, "started_at": "2026-11-30T10:00:00Z"}
    base.update(kw)
    return base


def test_each_version_appends_columns_to_the_one_before():
    v1 = [c.name for c in COLUMNS_BY_VERSION["1"]]
    v2 = [c.name for c in COLUMNS_BY_VERSION["2"]]
    v3 = [c.name for c in COLUMNS_BY_VERSION["3"]]
    assert SCHEMA_VERSION == "3"
    assert v2[: len(v1)] == v1 and v3[: len(v2)] == v2
    assert {"size_class", "ttft_missing_reason", "connect_ms"} <= set(v2) - set(v1)
    assert {"window_requests", "window_steady_s", "window_edge"} <= set(v3) - set(v2)


def test_a_version_1_file_is_read_with_new_columns_empty(tmp_path):
    path = tmp_path / "requests.csv"
    _write_v1(path, [{"run_id": "old", "request_id": "a", "model_id": "m", "status": "ok", "ttft_ms": "7.25"}])
    (row,) = read_rows(path)
    assert row["schema_version"] == "1" and row["ttft_ms"] == 7.25
    assert row["size_class"] is None and row["connect_ms"] is None and row["window_edge"] is None


def test_a_version_1_file_with_a_version_2_header_is_refused(tmp_path):
    path = tmp_path / "requests.csv"
    with RowWriter(path) as w:
        w.write(_row())
    lines = path.read_text().splitlines()
    lines[1] = "1" + lines[1][1:]  # claims version 1 under the version-2 header
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SchemaError, match="header does not match schema version 1"):
        read_rows(path)


def test_appending_version_2_rows_to_a_version_1_file_is_refused_and_keeps_it(tmp_path):
    path = tmp_path / "requests.csv"
    _write_v1(path, [{"run_id": "old", "request_id": "a", "model_id": "m", "status": "ok"}])
    before = path.read_bytes()
    with pytest.raises(SchemaError, match="another schema version"):
        RowWriter(path)
    assert path.read_bytes() == before


def test_load_types_columns_by_the_schema(tmp_path):
    run = tmp_path / "run-a"
    with RowWriter(run / "requests.csv") as w:
        w.write(_row())
        w.write(_row(request_id="x", status="error", ttft_ms=None, n_output_tokens=None, cold=True,
                     error="=cmd()", size_class="tiny"))
    df = results.load(run)
    assert len(df) == 2
    assert df["ttft_ms"].dtype == "float64" and df["ttft_ms"].iloc[0] == 12.5
    assert pd.isna(df["ttft_ms"].iloc[1])  # empty is missing, never 0
    assert str(df["n_output_tokens"].dtype) == "Int64" and pd.isna(df["n_output_tokens"].iloc[1])
    assert str(df["cold"].dtype) == "boolean" and bool(df["cold"].iloc[1]) is True
    assert isinstance(df["started_at"].dtype, pd.DatetimeTZDtype)
    assert df["started_at"].iloc[0] == pd.Timestamp("2026-11-30T10:00:00Z")
    assert df["error"].iloc[1] == "=cmd()"  # CSV neutralisation undone
    assert df["run_dir"].iloc[0] == str(run)


def test_load_finds_runs_below_a_folder_and_mixes_versions(tmp_path):
    with RowWriter(tmp_path / "campaign" / "cpu" / "run-b" / "requests.csv") as w:
        w.write(_row(run_id="run-b"))
    _write_v1(tmp_path / "campaign" / "old-run.csv", [{"run_id": "run-a", "request_id": "a", "status": "ok"}])
    (tmp_path / "campaign" / "run-a").mkdir()
    (tmp_path / "campaign" / "old-run.csv").rename(tmp_path / "campaign" / "run-a" / "requests.csv")
    df = results.load(tmp_path / "campaign")
    assert sorted(df["run_id"]) == ["run-a", "run-b"]
    assert sorted(df["schema_version"]) == ["1", SCHEMA_VERSION]
    same = results.load([tmp_path / "campaign" / "run-a", tmp_path / "campaign" / "run-a" / "requests.csv"])
    assert len(same) == 1  # the same file named twice is read once


def test_load_refuses_a_folder_without_results(tmp_path):
    with pytest.raises(SchemaError, match="no requests.csv"):
        results.load(tmp_path)
    with pytest.raises(SchemaError, match="no such results"):
        results.load(tmp_path / "missing")
