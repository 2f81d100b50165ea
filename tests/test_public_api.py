"""The public Python API: what `import vlmbench` exposes, and the README's "From Python" example
run as a user would run it (a script in a fresh interpreter, with the fork server's guard)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import vlmbench

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_public_names_are_exported_and_typed():
    assert set(vlmbench.__all__) >= {"run", "load", "report", "compare", "RunConfig", "Run", "UsageError"}
    for name in vlmbench.__all__:
        assert getattr(vlmbench, name) is not None
    assert (Path(vlmbench.__file__).parent / "py.typed").is_file()
    with pytest.raises(vlmbench.UsageError, match=r"^--repeats 0: must be at least 1$"):
        vlmbench.RunConfig(repeats=0)


def _readme_example() -> str:
    section = README.read_text().split("## From Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_example_runs_as_a_script(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(_readme_example())
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'in_process': True" in done.stdout and "llava-1.5-7b-tiny" in done.stdout
    run_dirs = [p for p in (tmp_path / "results").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(run_dirs) == 1
    frame = vlmbench.load(run_dirs[0])
    assert len(frame) == 2 and set(frame.status) == {"ok"}  # 1 prompt x 2 repeats
    assert (tmp_path / "reports" / "from-python" / "index.html").is_file()


def test_load_and_compare_read_run_folders(tiny_run):
    frame = vlmbench.load(tiny_run.run_dir)
    run = vlmbench.Run(tiny_run.run_dir)
    assert len(frame) == len(run.frame) > 0 and run.manifest["run_id"] == tiny_run.run_id
    comparison = vlmbench.compare(tiny_run.run_dir, run)  # a run against itself: nothing changed
    assert comparison.rows and not comparison.regressions(0.0)
