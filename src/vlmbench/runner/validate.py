"""Check a RunConfig before anything is written: every problem is one line naming the input."""

from __future__ import annotations

from vlmbench.backends import backend_class
from vlmbench.catalog import load_module
from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.promptset import PromptSet
from vlmbench.promptset.compose import run_promptset
from vlmbench.runner.image_axis import check_image_axis, check_images_per_request


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
    backend_class(config.backend).validate_config(config, check_device)
    check_image_axis(config)
    promptset = run_promptset(config)
    check_images_per_request(config, promptset)
    for model, own in config.model_overrides.items():
        if model not in config.models:
            continue
        config.for_model(model)  # its own values are checked like the run's
        missing = [p for p in own.get("prompts") or [] if p not in promptset.ids()]
        if missing:
            raise UsageError(f"model {model!r}: prompts {', '.join(missing)} not in the run's prompt set")
    return promptset
