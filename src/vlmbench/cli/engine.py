"""``vlmbench engine install NAME``: build a serving engine's own environment under the project."""

from __future__ import annotations

import argparse
import json

from vlmbench.options.declare import add_arguments as add_option_arguments
from vlmbench.options.engine import EngineOptions

NAME = "engine"
HELP = "manage serving engines (vLLM, SGLang, transformers serve): `engine install NAME`, `engine list`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="engine_command", metavar="ACTION", required=True)
    inst = sub.add_parser("install", help="build the engine's virtual environment in DIR/NAME (--engines-dir, default <project>/.engines) "
                                          "(the CUDA build where an NVIDIA GPU answers, else the CPU build)")
    inst.add_argument("name", metavar="NAME")
    inst.add_argument("--build", choices=("cpu", "cuda"), default=None, help="force a build (default: detected)")
    listing = sub.add_parser("list", help="engines, their builds and whether each is installed")
    for parser in (inst, listing):  # the run option itself (options/engine.py): one declaration
        add_option_arguments(parser, EngineOptions, only=("engines_dir",))


def execute(args: argparse.Namespace) -> int:
    from vlmbench.engines import ENGINES, get_engine
    from vlmbench.engines.install import Installer, cuda_machine, engines_dir, installed
    from vlmbench.errors import UsageError

    if args.engine_command == "list":
        for name in sorted(ENGINES):
            print(json.dumps({"engine": name, "installed": installed(name, args.engines_dir)}))
        return 0
    engine = get_engine(args.name)
    build = args.build or ("cuda" if cuda_machine() else "cpu")
    plan = engine.install_plan(build)
    if plan is None:
        if engine.default_python():
            raise UsageError(f"engine install {args.name}: nothing to install; it runs from vlmbench's own environment "
                             "(pip install 'vlmbench[serve]')")
        why = engine.not_on_cpu if build == "cpu" and engine.not_on_cpu else "no build for this machine"
        raise UsageError(f"engine install {args.name}: no {build} build installs from the registry: {why}")
    info = Installer(args.name, build, plan, engines_dir(args.engines_dir) / args.name).run()
    print(json.dumps(info))
    return 0
