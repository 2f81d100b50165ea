"""The row schema, the crash-safe writer and the refusing reader."""

from __future__ import annotations

import pytest

from vlmbench.errors import SchemaError
from vlmbench.results.reader import read_rows
from vlmbench.results.schema import COLUMN_NAMES, SCHEMA_VERSION
from vlmbench.results.writer import RowWriter

REQUIRED = (
    "schema_version run_id model_id weights backend device dtype promptset_version prompt_id "
    "image_width image_height repeat batch_size cold status error n_image_tokens n_text_tokens "
    "n_output_tokens preprocess_ms vision_ms prefill_ms ttft_ms ttft_user_ms tpot_ms itl_p50_ms "
    "itl_p99_ms e2e_ms decode_tps peak_rss_mb peak_cuda_allocated_mb peak_cuda_reserved_mb "
    "peak_nvml_mb started_at"
).split()


def test_schema_has_every_required_column():
    missing = [c for c in REQUIRED if c not in COLUMN_NAMES]
    assert not missing
    assert len(set(COLUMN_NAMES)) == len(COLUMN_NAMES)


def _row(**kw):
    base = {"run_id": "r", "request_id": "m|s|p|r0|s0", "model_id": "m", "status": "ok", "ttft_ms": 1.5,
            "cold": True, "n_output_tokens": 4, "peak_cuda_allocated_mb": None}
    base.update(kw)
    return base


def test_roundtrip_keeps_types_and_empty_cells(tmp_path):
    path = tmp_path / "requests.csv"
    with RowWriter(path) as w:
        w.write(_row())
        w.write(_row(request_id="x", error="=HYPERLINK(\"http://x\",\"y\")", status="error", ttft_ms=None))
    rows = read_rows(path)
    assert rows[0]["ttft_ms"] == 1.5 and rows[0]["cold"] is True and rows[0]["n_output_tokens"] == 4
    assert rows[0]["peak_cuda_allocated_mb"] is None  # empty, never 0
    assert rows[1]["error"] == "=HYPERLINK(\"http://x\",\"y\")"  # restored exactly
    raw = path.read_text().splitlines()[2]
    assert '"\'=HYPERLINK' in raw  # neutralised on disk
    assert all(r["schema_version"] == SCHEMA_VERSION for r in rows)


def test_torn_final_line_is_dropped_and_appending_resumes(tmp_path):
    path = tmp_path / "requests.csv"
    with RowWriter(path) as w:
        w.write(_row())
    with open(path, "a") as fh:
        fh.write("1,r,half-a-row")  # a write cut by SIGKILL
    assert len(read_rows(path)) == 1


def test_unknown_schema_version_is_refused_with_file_and_version(tmp_path):
    path = tmp_path / "requests.csv"
    with RowWriter(path) as w:
        w.write(_row())
    text = path.read_text().splitlines()
    text[1] = "99" + text[1][1:]
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(SchemaError, match=r"requests.csv:2: schema version '99'"):
        read_rows(path)


def test_foreign_csv_is_refused(tmp_path):
    path = tmp_path / "requests.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SchemaError, match="not a vlmbench requests file"):
        read_rows(path)


def test_unknown_column_in_row_is_a_programming_error(tmp_path):
    with RowWriter(tmp_path / "r.csv") as w, pytest.raises(KeyError):
        w.write({"no_such_column": 1})
