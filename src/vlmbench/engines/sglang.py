"""SGLang (https://docs.sglang.ai): ``python -m sglang.launch_server`` to its documented interface.

Not servable on these CPUs as shipped (platform notes, 2026-12-07): its CPU engine needs ``sglang-kernel-cpu``,
which no registry serves, and its LLaVA class crashes on a HF-format LLaVA. So the CPU build installs
nothing here (``vlmbench engine install sglang`` says so); on a GPU machine the registry's build (CUDA)
installs. The command line is tested up to what it builds.
"""

from __future__ import annotations

from vlmbench.engines.base import Engine, Launch, LaunchSpec
from vlmbench.engines.install import InstallPlan, PipInstall

VERSION = "0.5.23"


class SGLang(Engine):
    name = "sglang"
    package = "sglang"
    model_types = ("llava", "llava_next")
    server_kind = "sglang"
    visible_text_policy = ("none: SGLang's OpenAI API takes no list of allowed token ids; output tokens are timed "
                           "token-exactly from per-chunk usage instead")
    not_on_cpu = ("its CPU engine needs the sglang-kernel-cpu package, which no registry serves (build it from a "
                  "source checkout or SGLang's Xeon Dockerfile and name that environment with --engine-python)")

    def install_plan(self, build: str) -> InstallPlan | None:
        if build == "cuda":
            return InstallPlan(package="sglang", steps=(PipInstall((f"sglang=={VERSION}",)),))
        return None

    def launch(self, spec: LaunchSpec, python: str) -> Launch:
        argv = [python, "-m", "sglang.launch_server", "--model-path", str(spec.model_dir),
                "--served-model-name", spec.served_name, "--host", spec.host, "--port", str(spec.port),
                "--dtype", spec.dtype, "--enable-metrics"]
        env: dict[str, str] = {}
        if spec.dummy_weights:
            argv += ["--load-format", "dummy"]
        if spec.device.startswith("cpu"):
            argv += ["--device", "cpu"]
            env["SGLANG_USE_CPU_ENGINE"] = "1"
        if spec.trust_remote_code:
            argv.append("--trust-remote-code")
        argv += [*spec.recipe_args, *spec.user_args]
        return Launch(argv=argv, env=env)
