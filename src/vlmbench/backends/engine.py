"""The ``engine`` backend (``--engine vllm|sglang|transformers``): vlmbench starts the serving engine itself,
benchmarks it over loopback with the endpoint scenarios (sequential, closed-loop concurrency, Poisson
rate) and stops it.

``load`` prepares the model (a catalog entry with random weights: a model folder exported from its shapes,
``engines/export.py``, served with the engine's dummy weights; a checkpoint folder or hub id with
``--weights pretrained``: passed through), resolves the recipe (``engines/recipes``), starts the engine
through its supervisor (``engines/process.py``) on ``--engine-host`` (127.0.0.1) and a free port (or
``--engine-port``), and waits for ``GET /health`` within ``--engine-start-timeout``. A start that fails
is a model-load failure: every row of the model becomes ``status=error`` with the engine log's last
lines, and the next model goes on. Each load window is bracketed by scrapes of the engine's
``/metrics`` (``engines/server_metrics.py``); the deltas go to the driver as side records (``self.side``),
which writes them into the run folder, also when the job ran on a cluster node. ``close`` stops the engine before the next model's starts;
a worker that dies takes the engine with it (the supervisor's parent-death signal).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from vlmbench.backends.openai.backend import OpenAIBackend
from vlmbench.backends.openai.load import LoadMode, LoadScenario
from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.promptset import PromptSet
from vlmbench.results.schema import Status

ERROR_CHARS = 2000
# After requests of a window failed: how long an engine that neither answers GET /health nor has exited
# may take to be torn down by its supervisor (its grace time, 10 s, and the SIGKILL after) before it
# counts as hung and is stopped.
DEATH_WAIT_S = 30.0
ENGINE_DTYPES = {"auto": "auto", "float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def engine_python(config: RunConfig, engine: Any, here: bool = True) -> Optional[str]:
    """The engine environment's interpreter: ``engine: python:`` / ``--engine-python``, else the one
    ``vlmbench engine install NAME`` built, else an error naming that command. ``here=False`` (a campaign
    target: the engine runs on a cluster node, whose environment the node checks when it starts it): only
    what does not depend on the machine is checked, and None is returned."""
    from vlmbench.engines.install import engines_dir, installed, venv_python

    if config.engine_python:
        if not here:
            return None
        path = shutil.which(config.engine_python) or config.engine_python
        if not Path(path).exists():
            raise UsageError(f"--engine-python {config.engine_python!r}: no such interpreter")
        return str(path)
    if config.device.startswith("cpu") and engine.not_on_cpu:
        raise UsageError(f"--engine {engine.name}: does not run on a CPU as installed from the registry: "
                         f"{engine.not_on_cpu}")
    if not here:
        return None
    python = venv_python(engine.name, config.engines_dir)
    if engine.default_python() and not python.exists():
        return engine.default_python()
    if installed(engine.name, config.engines_dir) is None or not python.exists():
        flag = f" --engines-dir {config.engines_dir}" if config.engines_dir else ""
        raise UsageError(f"--engine {engine.name}: not installed in {engines_dir(config.engines_dir)}; run "
                         f"`vlmbench engine install {engine.name}{flag}` (or name an interpreter that has it with "
                         "--engine-python)")
    return str(python)


def _model_config(model: str, weights: str, engine: Any, device: str) -> Optional[Any]:
    """The catalog entry's config after checking the engine serves it (random weights); None otherwise."""
    from vlmbench.catalog import get, has

    if weights == "random":
        from vlmbench.engines.export import check_servable

        return check_servable(get(model), engine, device)
    if has(model) and not get(model).checkpoints:
        raise UsageError(f"--model {model!r}: no published checkpoint; use --weights random")
    return None


class EngineBackend(OpenAIBackend):
    name = "engine"

    @classmethod
    def validate_config(cls, config: RunConfig, check_device: bool = True) -> None:
        from vlmbench.engines import get_engine
        from vlmbench.engines.process import check_port_free

        if not config.engine:
            raise UsageError("--backend engine: name the engine with --engine (vllm, sglang, transformers)")
        if config.options.endpoint:
            raise UsageError("--endpoint: not with --engine (vlmbench starts the server and names its address)")
        engine = get_engine(config.engine)
        engine_python(config, engine, here=check_device)
        if config.dtype not in ENGINE_DTYPES:
            raise UsageError(f"--dtype {config.dtype!r}: must be one of {', '.join(ENGINE_DTYPES)}")
        for model in config.models:
            _model_config(model, config.weights, engine, config.device)
        if config.engine_port is not None and check_device:  # a campaign's node checks its own port
            check_port_free(config.engine_host, config.engine_port)
        cls.validate_load(config)

    @classmethod
    def environment_facts(cls, config: RunConfig) -> dict[str, Any]:
        """The fingerprint's ``engine`` section: name, version, the engine environment's torch and CUDA, and
        per model the command line that starts it, with the interpreter, the model folder and the port
        as placeholders (they differ between machines and starts without changing what is measured)."""
        from vlmbench.catalog import get
        from vlmbench.engines import get_engine

        engine = get_engine(config.engine)
        python = engine_python(config, engine)
        version, torch = _versions(config, engine, python)
        commands = {}
        for model in config.models:
            if config.weights == "random":
                model_type = str(get(model).build_config().model_type)
            else:
                model_type = _model_type_of(_pretrained_source(model))
            cfg = config.for_model(model)
            _, _, launch = _launch(cfg, engine, python, Path(MODEL_MARK), engine.served_name(model, MODEL_MARK),
                                   model_type, 0)
            argv = [PYTHON_MARK if arg == python else arg for arg in launch.argv]
            if "--port" in argv[:-1]:
                argv[argv.index("--port") + 1] = PORT_MARK
            commands[model] = " ".join(argv)
        return {"engine": {"name": engine.name, "version": version, **torch, "commands": commands}}

    @classmethod
    def fallback_columns(cls, config: RunConfig) -> dict[str, Any]:
        return {"backend": cls.name, "device": config.device, "weights": config.weights,
                "stack": config.engine, "hardware": _hardware(config.device)}

    # -- worker side ------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        from vlmbench.catalog import get
        from vlmbench.engines import get_engine
        from vlmbench.engines.export import export_folder
        from vlmbench.engines.install import engines_dir
        from vlmbench.engines.process import EngineProcess, EngineStartError, check_port_free, free_port

        cfg = self.config
        self.engine = engine = get_engine(cfg.engine)
        python = engine_python(cfg, engine)
        dummy = cfg.weights == "random"
        t0 = time.perf_counter()
        if dummy:
            entry = get(self.spec.model)
            folder: Path | str = export_folder(entry, engines_dir(cfg.engines_dir) / "models", engine, cfg.device)
            if engine.needs_weights:
                from vlmbench.engines.export import with_random_weights

                folder = with_random_weights(entry, Path(folder), cfg.seed)
            model_type = str(entry.build_config().model_type)
        else:
            folder = _pretrained_source(self.spec.model)
            model_type = _model_type_of(folder)
        host = cfg.engine_host
        if cfg.engine_port is not None:
            check_port_free(host, cfg.engine_port)
        port = cfg.engine_port or free_port(host)
        self._served = engine.served_name(self.spec.model, str(folder))
        spec, self.recipe, launch = _launch(cfg, engine, python, Path(folder) if dummy else folder, self._served,
                                            model_type, port)
        env = {**self.recipe.env, **launch.env}
        self.version, self.torch = _versions(cfg, engine, python)
        self.stack = f"{engine.name}-{self.version}+{self.recipe.hash}"
        url_host = f"[{host}]" if ":" in host else host
        log = engines_dir(cfg.engines_dir) / "logs" / f"{time.strftime('%Y%m%dT%H%M%S')}-{self.spec.model.replace('/', '_')}-{port}.log"
        self.process = EngineProcess(launch.argv, env, log, f"http://{url_host}:{port}", engine.health_path)
        self.command = launch.argv
        self.env = env
        self.folder = str(folder)
        self.process.start()
        try:
            self.ready_s = self.process.wait_ready(cfg.engine_start_timeout_s)
        except EngineStartError as exc:
            self.process.stop()
            raise RuntimeError(f"{engine.name} did not start: {exc}") from None
        load_ms = (time.perf_counter() - t0) * 1000
        self.request_extras = engine.request_extras(Path(folder), dummy)
        self.row_weights = cfg.weights
        self.config = cfg.replace(endpoint=f"http://{url_host}:{port}", server_kind=engine.server_kind,
                                  tokenizer=cfg.tokenizer or (str(folder) if dummy else None))
        constants = super().load()
        constants.update(weights=cfg.weights, device=cfg.device, dtype=cfg.dtype, hardware=_hardware(cfg.device),
                         processor_kind="engine", model_load_ms=load_ms, stack=self.stack, backend=self.name)
        return constants

    @property
    def served_name(self) -> str:
        return getattr(self, "_served", self.spec.model)

    def manifest_info(self) -> dict[str, Any]:
        info = super().manifest_info()
        info["engine"] = {
            "name": self.engine.name, "version": self.version, "stack": self.stack,
            "command": self.command, "env": self.env, "recipe": self.recipe.manifest(),
            "model_folder": self.folder, "log": str(self.process.log_path), "ready_s": self.ready_s,
            "torch": self.torch, "visible_text": self.engine.visible_text_policy if self.request_extras else None,
            "allowed_token_ids": len(self.request_extras.get("allowed_token_ids", ())) or None,
            "logit_bias_ids": len(self.request_extras.get("logit_bias", ())) or None,
            "caches": "off unless --engine-arg turns them on (recipe: "
                      + ", ".join(a for a in self.recipe.args if "cach" in a) + ")",
        }
        return info

    # -- windows: /metrics before and after, engine death -----------------------------------
    def run_job(self, run_id: str, cells, promptset: PromptSet, emit) -> None:
        self._dead: Optional[str] = None
        super().run_job(run_id, cells, promptset, emit)

    def _window(self, builder, cells, promptset, scenario: LoadScenario, mode: LoadMode, window_id: str, emit,
                cold: bool = False, **window: Any) -> None:
        """One load window bracketed by /metrics scrapes. An engine that dies in it: the window's rows
        measured before its death stay ``ok``; its unfinished ones become ``status=error`` naming the death
        (and the log's last lines); every later window of the model is error rows without a request."""
        from vlmbench.engines import server_metrics

        if self._dead is None:
            self._dead = self.process.death()
        if self._dead is not None:
            for cell in cells:
                emit(cell, 0, {"status": Status.ERROR.value, "error": f"engine_died: not sent: {self._dead}"[:ERROR_CHARS],
                               "window_id": window_id, "weights": self.row_weights, "cold": cold})
            return
        url = self.process.base_url + (self.engine.metrics_path or "/metrics")
        before = server_metrics.scrape(url) if self.engine.metrics_path else None
        t0 = time.time()
        rows: list[tuple[Any, int, dict]] = []  # a window may send more requests than its planned cells
        super()._window(builder, cells, promptset, scenario, mode, window_id,
                        lambda cell, slot, row: rows.append((cell, slot, row)), cold, **window)
        if any(row.get("status") != Status.OK.value for _, _, row in rows):
            self._dead = self.process.gone(within_s=DEATH_WAIT_S)
        if self._dead is not None:
            for _, _, row in rows:
                if row.get("status") != Status.OK.value:
                    row.update(status=Status.ERROR.value,
                               error=f"engine_died: {self._dead}; the request: {row.get('error')}"[:ERROR_CHARS])
        for cell, slot, row in rows:
            emit(cell, slot, row)
        after = server_metrics.scrape(url) if self.engine.metrics_path and self._dead is None else None
        delta = server_metrics.delta(before, after)
        self.side(server_metrics.FILE_NAME, server_metrics.window_line({
            "model_id": self.spec.model, "window_id": window_id, "scenario": scenario.name, "stack": self.stack,
            "started_at": t0, "ended_at": time.time(), "requests": len(rows),
            "summary": server_metrics.summary(delta), **delta}))

    def close(self) -> None:
        super().close()
        process = getattr(self, "process", None)
        if process is not None:
            process.stop()


PYTHON_MARK, MODEL_MARK, PORT_MARK = "{python}", "{model}", "{port}"


def _pretrained_source(model: str) -> str:
    from vlmbench.catalog import get, has

    if has(model):
        return get(model).checkpoints[0]
    path = Path(model).expanduser()
    return str(path) if path.exists() else model


def _build(device: str) -> str:
    return "cpu" if device.startswith("cpu") else "cuda"


def _launch(cfg: RunConfig, engine: Any, python: str, folder: Path | str, served: str, model_type: str, port: int):
    """The engine's launch spec, resolved recipe and command line for one model (used to start it, and with
    placeholders for the run's fingerprint)."""
    from vlmbench.engines import recipes
    from vlmbench.engines.base import LaunchSpec

    dummy = cfg.weights == "random"
    env_lib = Path(python).parent.parent / "lib"
    recipe = recipes.resolve(recipes.find(engine.name, model_type, cfg.engine_recipe), _build(cfg.device), env_lib)
    spec = LaunchSpec(model_dir=folder, served_name=served, host=cfg.engine_host, port=port, device=cfg.device,
                      dtype=ENGINE_DTYPES[cfg.dtype], dummy_weights=dummy and not engine.needs_weights,
                      recipe_args=recipe.args, user_args=tuple(cfg.engine_args),
                      trust_remote_code=cfg.trust_remote_code)
    return spec, recipe, engine.launch(spec, python)


def _versions(cfg: RunConfig, engine: Any, python: str) -> tuple[Optional[str], dict[str, Optional[str]]]:
    """The engine's version and its environment's torch and CUDA versions."""
    from vlmbench.engines.install import distribution_version

    plan = engine.install_plan(_build(cfg.device))
    version = (distribution_version(python, plan.package) if plan else None) \
        or distribution_version(python, engine.package)
    return version, _torch_versions(python)


def _hardware(device: str = "cpu") -> str:
    from vlmbench.measure.fingerprint import hardware_label

    return hardware_label(device)


def _model_type_of(source: str) -> str:
    import json

    config = Path(source).expanduser() / "config.json"
    try:
        return str(json.loads(config.read_text()).get("model_type", ""))
    except (OSError, ValueError):
        return ""


def _torch_versions(python: str) -> dict[str, Optional[str]]:
    """torch and its CUDA in the engine's environment, read from torch/version.py without importing torch."""
    import subprocess

    code = ("import importlib.util, pathlib, re; s = importlib.util.find_spec('torch'); "
            "t = (pathlib.Path(s.origin).parent / 'version.py').read_text() if s else ''; "
            "g = lambda k: (re.search(k + r\"\\s*(?::\\s*[^=]+)?=\\s*'([^']*)'\", t) or [None, None])[1]; "
            "print(g('__version__'), g('cuda'))")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True,
                          env={k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"})
    parts = proc.stdout.split() if proc.returncode == 0 else []
    return {"torch": parts[0] if parts and parts[0] != "None" else None,
            "cuda": parts[1] if len(parts) > 1 and parts[1] != "None" else None}
