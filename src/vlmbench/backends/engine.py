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

ENGINE_DTYPES = {"auto": "auto", "float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def engine_python(config: RunConfig, engine: Any, here: bool = True) -> Optional[str]:
    """The engine environment's interpreter: ``engine: python:`` / ``--engine-python``, else the one
    ``vlmbench engine install NAME`` built, else an error naming that command. ``here=False`` (a campaign
    target: the engine runs on a cluster node, whose environment the node checks when it starts it): only
    what does not depend on the machine is checked, and None is returned."""
    from vlmbench.engines.install import installed, venv_python

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
    python = venv_python(engine.name)
    if engine.default_python() and not python.exists():
        return engine.default_python()
    if installed(engine.name) is None or not python.exists():
        raise UsageError(f"--engine {engine.name}: not installed; run `vlmbench engine install {engine.name}` "
                         f"(or name an interpreter that has it with --engine-python)")
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
    def fallback_columns(cls, config: RunConfig) -> dict[str, Any]:
        return {"backend": cls.name, "device": config.device, "weights": config.weights,
                "stack": config.engine, "hardware": _hardware(config.device)}

    # -- worker side ------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        from vlmbench.catalog import get
        from vlmbench.engines import get_engine
        from vlmbench.engines.base import LaunchSpec
        from vlmbench.engines.export import export_folder
        from vlmbench.engines.install import distribution_version, engines_dir
        from vlmbench.engines.process import EngineProcess, EngineStartError, check_port_free, free_port
        from vlmbench.engines import recipes

        cfg = self.config
        self.engine = engine = get_engine(cfg.engine)
        python = engine_python(cfg, engine)
        dummy = cfg.weights == "random"
        t0 = time.perf_counter()
        if dummy:
            entry = get(self.spec.model)
            folder: Path | str = export_folder(entry, engines_dir() / "models", engine, cfg.device)
            if engine.needs_weights:
                from vlmbench.engines.export import with_random_weights

                folder = with_random_weights(entry, Path(folder), cfg.seed)
            model_type = str(entry.build_config().model_type)
        else:
            folder = self._pretrained_source()
            model_type = _model_type_of(folder)
        host = cfg.engine_host
        if cfg.engine_port is not None:
            check_port_free(host, cfg.engine_port)
        port = cfg.engine_port or free_port(host)
        env_lib = Path(python).parent.parent / "lib"
        recipe_path = recipes.find(engine.name, model_type, cfg.engine_recipe)
        self.recipe = recipes.resolve(recipe_path, "cpu" if cfg.device.startswith("cpu") else "cuda", env_lib)
        self._served = engine.served_name(self.spec.model, str(folder))
        spec = LaunchSpec(model_dir=Path(folder) if dummy else folder, served_name=self._served, host=host,
                          port=port, device=cfg.device, dtype=ENGINE_DTYPES[cfg.dtype],
                          dummy_weights=dummy and not engine.needs_weights,
                          recipe_args=self.recipe.args, user_args=tuple(cfg.engine_args),
                          trust_remote_code=cfg.trust_remote_code)
        launch = engine.launch(spec, python)
        env = {**self.recipe.env, **launch.env}
        plan = engine.install_plan("cpu" if cfg.device.startswith("cpu") else "cuda")
        self.version = (distribution_version(python, plan.package) if plan else None) \
            or distribution_version(python, engine.package)
        self.stack = f"{engine.name}-{self.version}+{self.recipe.hash}"
        self.torch = _torch_versions(python)
        url_host = f"[{host}]" if ":" in host else host
        log = engines_dir() / "logs" / f"{time.strftime('%Y%m%dT%H%M%S')}-{self.spec.model.replace('/', '_')}-{port}.log"
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
        self.request_extras = engine.request_extras(Path(folder), spec.dummy_weights)
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

    def _pretrained_source(self) -> str:
        from vlmbench.catalog import get, has

        if has(self.spec.model):
            return get(self.spec.model).checkpoints[0]
        path = Path(self.spec.model).expanduser()
        return str(path) if path.exists() else self.spec.model

    def manifest_info(self) -> dict[str, Any]:
        info = super().manifest_info()
        info["engine"] = {
            "name": self.engine.name, "version": self.version, "stack": self.stack,
            "command": self.command, "env": self.env, "recipe": self.recipe.manifest(),
            "model_folder": self.folder, "log": str(self.process.log_path), "ready_s": self.ready_s,
            "torch": self.torch, "visible_text": self.engine.visible_text_policy if self.request_extras else None,
            "allowed_token_ids": len(self.request_extras.get("allowed_token_ids", ())) or None,
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
        from vlmbench.engines import server_metrics

        if self._dead is None and not self.process.alive:
            self._dead = f"engine died (exit {self.process.proc.returncode}); last log lines: {self.process.tail()}"
        if self._dead is not None:
            for cell in cells:
                emit(cell, 0, {"status": Status.ERROR.value, "error": self._dead[:2000], "window_id": window_id,
                               "weights": self.row_weights, "cold": cold})
            return
        url = self.process.base_url + (self.engine.metrics_path or "/metrics")
        before = server_metrics.scrape(url) if self.engine.metrics_path else None
        t0 = time.time()
        emitted = []  # a window may send more requests than its planned cells (a steady-interval window)

        def counted(cell, slot, row):
            emitted.append(row)
            emit(cell, slot, row)

        super()._window(builder, cells, promptset, scenario, mode, window_id, counted, cold, **window)
        after = server_metrics.scrape(url) if self.engine.metrics_path else None
        delta = server_metrics.delta(before, after)
        self.side(server_metrics.FILE_NAME, server_metrics.window_line({
            "model_id": self.spec.model, "window_id": window_id, "scenario": scenario.name, "stack": self.stack,
            "started_at": t0, "ended_at": time.time(), "requests": len(emitted),
            "summary": server_metrics.summary(delta), **delta}))
        if not self.process.alive:
            self._dead = f"engine died (exit {self.process.proc.returncode}); last log lines: {self.process.tail()}"

    def close(self) -> None:
        super().close()
        process = getattr(self, "process", None)
        if process is not None:
            process.stop()


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
