"""Campaign files: targets become per-target run configurations; a malformed file is one line
``FILE:LINE: key 'K': problem`` and exit 2; without Ray, targets this machine cannot run are
named (exit 2 when none can)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from vlmbench.cli import main
from vlmbench.runner.campaign import local_mismatch
from vlmbench.runner.campaign_file import parse_campaign
from vlmbench.runner.suite import builtin_suite_path

from conftest import ROOT

GOOD = """\
name: nightly
suite: default
targets:
  - {label: h100, accelerator_type: H100, gpus: 1, dtype: bfloat16}
  - {label: a10g, accelerator_type: A10G, gpus: 1, batch_sizes: [1, 2]}
  - label: cpu
    resources: {cpu_bench: 1}
    device: cpu
    models: [llava-1.5-7b-tiny]
"""


def test_targets_override_suite_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(GOOD)
    campaign = parse_campaign(path)
    h100, a10g, cpu = campaign.targets
    assert campaign.name == "nightly" and [t.label for t in campaign.targets] == ["h100", "a10g", "cpu"]
    assert h100.config.device == "cuda" and h100.config.dtype == "bfloat16" and h100.gpus == 1
    assert h100.requirements() == {"accelerator_type:H100": 0.001, "GPU": 1.0}
    assert a10g.config.batch_sizes == [1, 2] and a10g.config.dtype == "auto"
    assert cpu.config.models == ["llava-1.5-7b-tiny"] and cpu.requirements() == {"cpu_bench": 1.0}
    default_models = yaml.safe_load(builtin_suite_path("default").read_text())["models"]
    assert h100.config.models == [m if isinstance(m, str) else m["id"] for m in default_models]  # the default suite
    assert h100.config.for_model("tinyllava-1.4b").repeats == 1
    assert local_mismatch(cpu, {"CPU": 2.0, "cpu_bench": 1.0}) is None
    assert "accelerator_type:H100" in local_mismatch(h100, {"CPU": 2.0})


@pytest.mark.parametrize(
    "text, line, key, problem",
    [
        (GOOD + "colour: blue\n", 10, "colour", "unknown key"),
        (GOOD.replace("gpus: 1, dtype", "gpus: one, dtype"), 4, "targets.gpus", "expected int"),
        (GOOD.replace("label: a10g", "label: 'a/10g'"), 5, "targets.label", "letters, digits"),
        (GOOD.replace("cpu_bench: 1", "cpu_bench: 0"), 7, "targets.resources.cpu_bench", "more than 0"),
        (GOOD.replace("models: [llava-1.5-7b-tiny]", "models: [no-such-model]"), 9, "targets.models",
         "unknown catalog id"),
        (GOOD.replace("suite: default", "suite: no-such-suite"), 2, "suite", "not a built-in suite"),
        (GOOD.replace("  - label: cpu\n", "  - resources: {a: 1}\n    label: h100\n"), 7, "targets.label",
         "given twice"),
        (GOOD.replace("suite: default", "suite: {repeats: 2}"), 2, "suite.models", "missing"),
    ],
)
def test_malformed_campaign_is_one_line_and_exit_2(tmp_path, capsys, text, line, key, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code = main(["campaign", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"{path}:{line}: key {key!r}" in err and problem in err, err
    assert not (tmp_path / "out").exists()


def test_without_ray_the_targets_this_machine_cannot_run_are_named(tmp_path):
    path = tmp_path / "gpus.yaml"
    path.write_text(GOOD.replace("resources: {cpu_bench: 1}", "resources: {cpu_bench: 1}\n    gpus: 8"))
    code = ("import sys; sys.modules['ray'] = None; from vlmbench.cli import main; "
            f"sys.exit(main(['campaign', {str(path)!r}, '--out', {str(tmp_path / 'out')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    for label in ("h100", "a10g", "cpu"):
        assert any(f"cannot run target {label!r}" in line for line in lines), lines
    assert "no target can run on this machine without Ray" in lines[-1]
