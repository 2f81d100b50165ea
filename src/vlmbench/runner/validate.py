"""Check a RunConfig before anything is written: every problem is one line naming the input."""

from __future__ import annotations

from vlmbench.backends import backend_class
from vlmbench.catalog import load_module
from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.promptset import PromptSet, load_promptset


def validate(config: RunConfig, check_device: bool = True) -> PromptSet:
    """Raise UsageError on bad input; return the verified prompt set. ``check_device=False``: the
    device is another machine's (a campaign target), checked where the job runs."""
    # types, ranges and choices were checked when the RunConfig was made (its declarations)
    if not config.batch_sizes:
        raise UsageError(f"--batch-sizes {config.batch_sizes}: each must be at least 1")
    if not config.models:
        raise UsageError("--model: no model given")
    for plugin in config.plugins:
        load_module(plugin)
    backend = backend_class(config.backend)
    check = getattr(backend, "validate_config", None)
    if check is not None:
        check(config)
    from vlmbench.backends.hf.devices import resolve_device, resolve_dtype

    if config.backend == "hf":
        from vlmbench.backends.hf.loader import check_model_reference

        if check_device:
            resolve_dtype(config.dtype, resolve_device(config.device))
        for model in config.models:
            check_model_reference(model, config.weights)
    promptset = load_promptset(config.promptset_version, ids=config.prompts, root=config.promptset_dir)
    for model, own in config.model_overrides.items():
        if model not in config.models:
            continue
        config.for_model(model)  # its own values are checked like the run's
        missing = [p for p in own.get("prompts") or [] if p not in promptset.ids()]
        if missing:
            raise UsageError(f"model {model!r}: prompts {', '.join(missing)} not in the run's prompt set")
        if config.backend == "hf" and "dtype" in own and check_device:
            resolve_dtype(own["dtype"], resolve_device(config.device))
    return promptset
