"""``transformers serve``: Hugging Face's own OpenAI-compatible server, run from vlmbench's environment (or the
one named). Random weights cannot be asked for (it has no dummy load format), so the exported folder gets
random weights written into it at export time by the in-process path's fast initialiser."""

from __future__ import annotations

import sys
from pathlib import Path

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
    visible_text_policy = ("logit_bias: random weights only; every vocabulary id whose text is not visible on its own "
                           "gets a bias of -100 (transformers serve applies it as a sequence bias), so each "
                           "generated token reaches the client as text")

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

    def request_extras(self, model_dir: Path, random_weights: bool) -> dict:
        """Random weights: ``logit_bias`` -100 on every id whose text is not visible (and on the ids the model's
        vocabulary has past the tokenizer's), so each generated token arrives as text."""
        if not random_weights:
            return {}
        import json

        from vlmbench.engines.export import visible_token_ids

        config = json.loads((model_dir / "config.json").read_text())
        size = (config.get("text_config") or {}).get("vocab_size") or config.get("vocab_size") or 0
        visible = visible_token_ids(model_dir)
        hidden = set(range(max(size, visible[-1] + 1 if visible else 0))) - set(visible)
        return {"logit_bias": {str(i): -100.0 for i in sorted(hidden)}}  # floats: it refuses ints

    def served_name(self, model: str, folder: str) -> str:
        return folder  # it serves the folder by its path
