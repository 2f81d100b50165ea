"""``transformers serve``: Hugging Face's own OpenAI-compatible server, run from vlmbench's environment (or the
one named). Random weights cannot be asked for (it has no dummy load format), so the exported folder gets
random weights written into it at export time by the in-process path's fast initialiser."""

from __future__ import annotations

import sys
from vlmbench.engines.base import Engine, Launch, LaunchSpec
from vlmbench.engines.install import InstallPlan


class TransformersServe(Engine):
    name = "transformers"
    package = "transformers"
    model_types = ("llava", "llava_next")
    server_kind = "transformers"
    metrics_path = None  # no Prometheus endpoint
    health_path = "/health"
    needs_weights = True  # the folder must hold weights: it has no dummy load format
    visible_text_policy = "none: `transformers serve` takes no allowed-token list; tokens counted from usage"

    def install_plan(self, build: str) -> InstallPlan | None:
        return None  # it is vlmbench's own dependency (extra `serve`)

    def default_python(self) -> str | None:
        return sys.executable

    def launch(self, spec: LaunchSpec, python: str) -> Launch:
        device = "cpu" if spec.device.startswith("cpu") else spec.device
        argv = [python, "-m", "transformers.cli.transformers", "serve", str(spec.model_dir), "--host", spec.host,
                "--port", str(spec.port), "--device", device, "--dtype", spec.dtype,
                *spec.recipe_args, *spec.user_args]
        return Launch(argv=argv)

    def served_name(self, model: str, folder: str) -> str:
        return folder  # it serves the folder by its path
