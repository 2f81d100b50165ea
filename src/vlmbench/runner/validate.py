"""Check a RunConfig before anything is written: every problem is one line naming the input."""

from __future__ import annotations

from vlmbench.backends import backend_class
from vlmbench.catalog import load_module
from vlmbench.config import WEIGHT_MODES, RunConfig
from vlmbench.errors import UsageError
from vlmbench.promptset import PromptSet, load_promptset


def validate(config: RunConfig, check_device: bool = True) -> PromptSet:
    """Raise UsageError on bad input; return the verified prompt set. ``check_device=False``: the
    device is another machine's (a campaign target), checked where the job runs."""
    if config.max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens {config.max_new_tokens}: must be at least 1")
    if config.repeats < 1:
        raise UsageError(f"--repeats {config.repeats}: must be at least 1")
    if config.warmup < 0:
        raise UsageError(f"--warmup {config.warmup}: must be 0 or more")
    if not config.batch_sizes or any(b < 1 for b in config.batch_sizes):
        raise UsageError(f"--batch-sizes {config.batch_sizes}: each must be at least 1")
    if config.weights not in WEIGHT_MODES:
        raise UsageError(f"--weights {config.weights!r}: must be one of {', '.join(WEIGHT_MODES)}")
    if not config.models:
        raise UsageError("--model: no model given")
    for plugin in config.plugins:
        load_module(plugin)
    backend = backend_class(config.backend)
    check = getattr(backend, "validate_config", None)
    if check is not None:
        check(config)
    if config.backend != "openai" and (config.endpoint or config.concurrency or config.rates):
        raise UsageError("--endpoint, --concurrency and --rate: only with --backend openai")
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
        missing = [p for p in own.get("prompts") or [] if p not in promptset.ids()]
        if missing:
            raise UsageError(f"model {model!r}: prompts {', '.join(missing)} not in the run's prompt set")
        if config.backend == "hf" and "dtype" in own and check_device:
            resolve_dtype(own["dtype"], resolve_device(config.device))
    return promptset
