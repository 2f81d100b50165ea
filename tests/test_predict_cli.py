"""``vlmbench predict`` / ``vlmbench calibrate``: JSON schema, spec profiles, predictions.csv kept
apart from measured rows, micro-benchmarks, calibration and validation on a real tiny run."""

from __future__ import annotations

import json

import pytest

from vlmbench.cli import main
from vlmbench.errors import SchemaError
from vlmbench.predict.predictions_io import read_predictions
from vlmbench.predict.profiles import read_profile, spec_profile
from vlmbench.results.reader import read_rows

TINY = "llava-1.5-7b-tiny"
PROMPT = "diagram-shapes-336x336"
STAGE_KEYS = ("vision_ms", "prefill_ms", "ttft_ms", "tpot_ms", "e2e_ms", "peak_allocated_mb")  # issue 20 item 3




def test_predict_json_schema_and_predictions_csv(tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    rc = main(["predict", "--model", TINY, "--profile", "h100", "--prompts", PROMPT, "--batch-sizes", "1,2",
               "--max-new-tokens", "4", "--json", "-o", str(out)])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["batch_size"] for r in rows] == [1, 2]
    for r in rows:
        assert r["model_id"] == TINY and r["prompt_id"] == PROMPT and r["source"] == "predicted"
        assert r["profile"] == "h100" and r["profile_kind"] == "spec"
        assert r["validation"] == "unvalidated" and r["interval_level"] == "prior, coverage unknown"
        assert r["n_image_tokens"] == 576
        for key in STAGE_KEYS + ("preprocess_ms",):
            assert r[key] > 0
            assert r[f"{key}_lo"] <= r[key] <= r[f"{key}_hi"]
        assert r["e2e_ms"] == pytest.approx(r["ttft_ms"] + 3 * r["tpot_ms"], rel=1e-6)
    # predictions.csv: its own schema, refused by the measured-rows reader, read back by its own
    back = read_predictions(out)
    assert [r["batch_size"] for r in back] == [1, 2]
    assert back[0]["ttft_ms"] == pytest.approx(rows[0]["ttft_ms"], rel=1e-6)
    with pytest.raises(SchemaError, match="not a vlmbench requests file"):
        read_rows(out)
    # the site: its own section with the predicted badge, the measured error when known, escaped
    from vlmbench.predict.predictions_io import write_predictions
    from vlmbench.predict.site_records import prediction_records
    from vlmbench.report.site.predictions import predictions_section

    hostile = tmp_path / "hostile.csv"
    write_predictions([dict(rows[0], device="<script>x</script>")], hostile)
    records = prediction_records(out, {"NVIDIA H100 SXM5 80GB": {"tpot": 0.12}}) + prediction_records(hostile)
    html = predictions_section(records)
    assert html.count('class="badge-predicted"') >= 3 and "tpot 12%" in html
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    assert "not measured yet" in html  # the hostile device has no validation
    assert html.count('class="badge-unvalidated"') == 3 and "Intervals: prior, coverage unknown." in html
    assert "held out by model, same machine" in html  # the error note says what was held out


def test_predictions_csv_version_1_is_still_read(tmp_path):
    """A file written before ``validation`` / ``interval_level`` existed (schema 1) reads back,
    with the claims its profile kind implies; an unknown version is refused in one line."""
    from vlmbench.predict.predictions_io import COLUMNS_V1, VERSION_COLUMN

    def v1_file(name: str, kind: str, version: str = "1"):
        row = {VERSION_COLUMN: version, "source": "predicted", "model_id": TINY, "prompt_id": PROMPT, "batch_size": "1",
               "max_new_tokens": "4", "dtype": "bfloat16", "profile": "x", "profile_kind": kind, "ttft_ms": "12.5",
               "peak_memory_mb": "300"}
        path = tmp_path / name
        path.write_text(",".join(COLUMNS_V1) + "\n" + ",".join(row.get(c, "") for c in COLUMNS_V1) + "\n")
        return path

    spec = read_predictions(v1_file("spec.csv", "spec"))[0]
    assert spec["ttft_ms"] == 12.5 and spec["validation"] == "unvalidated"
    # schema 1's peak_memory_mb is the allocated memory the predictor predicts: today's name (issue 20 item 3)
    assert spec["peak_allocated_mb"] == 300.0 and "peak_memory_mb" not in spec
    assert spec["interval_level"] == "prior, coverage unknown"
    calibrated = read_predictions(v1_file("cal.csv", "calibrated"))[0]
    assert calibrated["validation"] == calibrated["interval_level"] == "not recorded (predictions schema 1)"
    with pytest.raises(SchemaError, match="predictions schema version '9' is not one this vlmbench reads"):
        read_predictions(v1_file("v9.csv", "spec", version="9"))


def test_requests_csv_is_refused_by_the_predictions_reader(tiny_run):
    with pytest.raises(SchemaError, match="not a vlmbench predictions file.*requests.csv"):
        read_predictions(tiny_run.run_dir / "requests.csv")


DENSE_BF16 = {"h100": 989.4e12, "h200": 989e12, "a100-80gb": 312e12, "l4": 121e12, "a10g": 70e12,
              "rtx4090": 165.2e12}


@pytest.mark.parametrize("name", ["h100", "h200", "a100-80gb", "l4", "a10g", "t4", "rtx4090"])
def test_spec_profiles_are_dense_and_sourced(name):
    p = spec_profile(name)
    assert p.kind == "spec" and p.dense and p.device_type == "cuda"
    for key in ("bandwidth", "flops", "memory", "efficiency"):
        assert p.sources.get(key), key
    assert p.memory_gib and p.peak_bandwidth_bytes_per_s > 1e11
    if name in DENSE_BF16:
        assert p.peak_flops_per_s["bfloat16"] == pytest.approx(DENSE_BF16[name])
    else:  # T4: no bf16 tensor cores
        assert p.peak_flops_per_s["bfloat16"] < p.peak_flops_per_s["float16"] / 4
    # efficiency priors: achieved figures below the peaks
    assert max(v for _, v in p.matmul_curve["bfloat16"]) < p.peak_flops_per_s["bfloat16"]
    assert p.bandwidth_bytes_per_s < p.peak_bandwidth_bytes_per_s


@pytest.mark.parametrize("args, needle", [
    (["predict", "--model", TINY, "--profile", "no-such-gpu"], "--profile 'no-such-gpu'"),
    (["predict", "--model", "no-such-model", "--profile", "h100"], "--model 'no-such-model'"),
    (["predict", "--model", TINY, "--profile", "h100", "--prompts", "nope"], "unknown prompt id 'nope'"),
    (["calibrate", "--device", "tpu0", "-o", "x.json"], "--device 'tpu0'"),
    (["calibrate", "-o", "x.json"], "give --device"),
])
def test_bad_input_one_line_exit_2(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("profile, needle", [
    ("no-such-gpu", "--profile 'no-such-gpu': neither a profile file nor a built-in profile"),
    ("garbage.json", "not readable JSON"),
    ("list.json", "not a vlmbench device profile"),
])
@pytest.mark.parametrize("mode", [["--runs", "missing-run"], ["--frozen-test"]])
def test_bench_predictor_accuracy_bad_profile_one_line_exit_2(profile, needle, mode, tmp_path):
    """bench/predictor_accuracy.py (issue 25 item 4): a bad --profile is one line and exit 2, not a traceback."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "garbage.json").write_text("garbage")
    (tmp_path / "list.json").write_text("[1]")
    script = Path(__file__).resolve().parents[1] / "bench" / "predictor_accuracy.py"
    proc = subprocess.run([sys.executable, str(script), "--profile", profile, *mode, "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and needle in err and len(err.splitlines()) == 1, proc.stdout + proc.stderr
    assert err.startswith("predictor_accuracy: error: ") and not (tmp_path / "out").exists()


def test_calibrate_device_cpu_quick_then_calibrate_on_runs_and_validate(tiny_run, tmp_path, capsys):
    micro = tmp_path / "cpu.json"
    assert main(["calibrate", "--device", "cpu", "--quick", "-o", str(micro)]) == 0
    p = read_profile(micro)
    assert p.kind == "micro-benchmark" and p.fingerprint.get("cpu") and p.bandwidth_bytes_per_s > 0
    assert all(v > 0 for _, v in p.matmul_curve["float32"]) and p.launch_us > 0
    fitted = tmp_path / "cal.json"
    assert main(["calibrate", "--profile", str(micro), "--runs", str(tiny_run.run_dir), "-o", str(fitted)]) == 0
    c = read_profile(fitted)
    assert c.kind == "calibrated" and c.base["kind"] == "micro-benchmark"
    assert TINY in c.calibrated_on[-1]["models"] and c.stacks
    capsys.readouterr()
    assert main(["predict", "--validate", str(tiny_run.run_dir), "--profile", str(fitted), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["blocks"]) >= {"profile", "base", "roofline"}
    assert report["blocks"]["profile"]["tpot"]["n"] == report["rows"] > 0
    # the fit is in-sample here: over the fitted stages it beats the uncalibrated micro-benchmark profile
    def mean_err(block):
        return sum(report["blocks"][block][s]["median_abs"] for s in ("vision", "prefill", "tpot")) / 3
    assert mean_err("profile") <= mean_err("base") + 1e-9


def test_site_shows_predictions_apart_from_measured_tables(tiny_run, tmp_path, capsys):
    """`vlmbench site RUN --predictions FILE`: the leaderboard gets a predictions section with the
    badge below the measured tables; the measured rows' summary.csv holds no predicted figure."""
    pred = tmp_path / "predictions.csv"
    assert main(["predict", "--model", TINY, "--profile", "l4", "--prompts", PROMPT, "--max-new-tokens", "4",
                 "-o", str(pred)]) == 0
    predicted_ttft = read_predictions(pred)[0]["ttft_ms"]
    site = tmp_path / "site"
    assert main(["site", str(tiny_run.run_dir), "-o", str(site), "--predictions", str(pred)]) == 0
    index = (site / "index.html").read_text()
    measured, _, predicted = index.partition("<h2>Predictions")
    assert predicted and 'class="badge-predicted"' in predicted and "<style>" not in index
    assert "badge-predicted" in (site / "assets" / "site.css").read_text()
    assert "not measured yet" in predicted  # no validation report given: the error is said to be unknown
    summary = (site / "data" / "summary.csv").read_text()
    # no predicted cell above the predictions section (a bare number could match a measured one by chance)
    assert "predicted" not in summary and 'class="pred"' not in measured and "badge-predicted" not in measured
    assert f"{predicted_ttft:.1f} <small>" in predicted
    assert main(["site", str(tiny_run.run_dir), "-o", str(site), "--predictions", str(tmp_path / "none.csv")]) == 2
    assert "--predictions" in capsys.readouterr().err


THREE_TINY = ("llava-1.5-7b-tiny", "paligemma-3b-224-tiny", "tinyllava-3.1b-tiny")


@pytest.mark.slow
def test_held_out_claims_from_three_models(tmp_path, capsys):
    """Calibrated on three models' real runs: the profile's intervals are held out by model on this
    machine (80 % level, 3 models), every prediction and the table say so, and --validate gives the
    held-out error with a bootstrap interval over models and a coverage line per stage."""
    from conftest import run_cli

    proc = run_cli("run", *[a for m in THREE_TINY for a in ("--model", m)], "--prompts", PROMPT, "--repeats", "3",
                   "--max-new-tokens", "4", "--warmup", "1", "--no-progress", "--out", str(tmp_path / "results"),
                   "--run-id", "three")
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "results" / "three"
    micro, fitted = tmp_path / "cpu.json", tmp_path / "cal.json"
    assert main(["calibrate", "--device", "cpu", "--quick", "-o", str(micro)]) == 0
    assert main(["calibrate", "--profile", str(micro), "--runs", str(run), "-o", str(fitted)]) == 0
    profile = read_profile(fitted)
    basis = profile.interval_basis
    assert basis["models"] == 3 and basis["level"] == 0.8 and {"vision", "prefill", "tpot"} <= set(basis["stages"])
    assert read_profile(micro).interval_basis == {}  # priors
    v1 = json.loads(fitted.read_text())  # a format-1 profile (no interval_basis) reads with the same basis
    v1["version"] = 1
    del v1["interval_basis"]
    from vlmbench.predict.profiles import Profile

    derived = Profile.from_json(v1).interval_basis
    assert {**derived, "stages": set(derived["stages"])} == {**basis, "stages": set(basis["stages"])}
    capsys.readouterr()
    assert main(["predict", "--model", THREE_TINY[0], "--profile", str(fitted), "--prompts", PROMPT,
                 "--max-new-tokens", "4"]) == 0
    table = capsys.readouterr().out
    assert "validation: held out by model, same machine; interval: 80 % interval from held-out models on this " \
           "machine (3 models)" in table
    assert main(["predict", "--model", THREE_TINY[0], "--profile", str(micro), "--prompts", PROMPT,
                 "--max-new-tokens", "4"]) == 0
    assert "validation: unvalidated; interval: prior, coverage unknown" in capsys.readouterr().out
    assert main(["predict", "--validate", str(run), "--profile", str(fitted), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lomo = report["blocks"]["lomo"]
    assert report["labels"]["lomo"].startswith("held out by model, same machine")
    for stage in ("vision", "prefill", "tpot"):
        s = lomo[stage]
        assert s["models"] == 3 and 0.0 <= s["coverage"] <= 1.0
        lo, hi = s["median_abs_ci"]
        assert lo <= s["median_abs"] <= hi  # the pooled median lies inside its own bootstrap interval
    assert report["blocks"]["roofline"]["tpot"].get("coverage") is None  # no interval to cover
    assert main(["predict", "--validate", str(run), "--profile", str(fitted)]) == 0
    text = capsys.readouterr().out
    assert "lomo: held out by model, same machine" in text and "coverage per stage (lomo:" in text
    assert text.count("rows inside the interval") >= 5
