"""Bad input: one line naming the input and what is wrong, exit code 2, nothing lost."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from vlmbench.cli import main
from vlmbench.promptset import packaged_root

from conftest import run_cli


def _absent_gpu() -> tuple[str, str]:
    """A CUDA device that exists on no host: seven past the last GPU this one has (cuda:7 on a
    machine without CUDA). The refusal names it either way: "CUDA is not available" where there
    is no CUDA, "no such GPU" where there is."""
    import torch

    if not torch.cuda.is_available():
        return "cuda:7", "--device 'cuda:7': CUDA is not available"
    name = f"cuda:{torch.cuda.device_count() + 7}"
    return name, f"--device '{name}': no such GPU"


_ABSENT_GPU, _ABSENT_GPU_NEEDLE = _absent_gpu()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--model", "no-such-model"], "--model 'no-such-model': unknown catalog id"),
        (["--model", "./no/such/folder", "--weights", "pretrained"], "no such local folder"),
        (["--device", "tpu9"], "--device 'tpu9'"),
        (["--device", _ABSENT_GPU], _ABSENT_GPU_NEEDLE),
        (["--dtype", "float8"], "--dtype 'float8': unknown dtype"),
        (["--max-new-tokens", "0"], "--max-new-tokens 0: must be at least 1"),
        (["--prompts", "no-such-prompt"], "unknown prompt id 'no-such-prompt'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_keeps_earlier_results(args, needle, tiny_run, capsys):
    before = _digest(tiny_run.requests_csv)
    code = main(["run", "--out", str(tiny_run.run_dir.parent), "--no-progress", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert _digest(tiny_run.requests_csv) == before
    assert sorted(p.name for p in tiny_run.run_dir.parent.iterdir() if p.name != "latest") == [tiny_run.run_id]


def test_modified_prompt_image_is_refused_naming_it(tmp_path):
    copy = tmp_path / "set"
    shutil.copytree(packaged_root("v1"), copy)
    victim = sorted((copy / "images").iterdir())[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    proc = run_cli("run", "--promptset-dir", str(copy), "--out", str(tmp_path / "out"), "--no-progress")
    assert proc.returncode == 2
    assert victim.name in proc.stderr and "modified" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_dtype_the_device_cannot_run_is_refused(monkeypatch, capsys):
    """float16 on a CUDA-less machine: refused only if the probe really fails; on CPUs that run
    fp16 the run is allowed, so check the probe's verdict against a real fp16 matmul."""
    import torch

    from vlmbench.backends.hf.devices import check_dtype_runs
    from vlmbench.errors import UsageError

    try:
        torch.nn.functional.scaled_dot_product_attention(*(torch.randn(1, 1, 4, 8, dtype=torch.float16),) * 3)
        runs = True
    except RuntimeError:
        runs = False
    if runs:
        check_dtype_runs(torch.float16, torch.device("cpu"), "float16")
    else:
        with pytest.raises(UsageError, match="--dtype float16: cannot run on cpu"):
            check_dtype_runs(torch.float16, torch.device("cpu"), "float16")
    with pytest.raises(UsageError, match="--dtype uint8: cannot run on cpu"):
        check_dtype_runs(torch.uint8, torch.device("cpu"), "uint8")
