"""Nested configs for vlmbench archs: accept a config object or its ``to_dict()`` form.

A vlmbench arch config holds its building blocks' configs (vision encoder, Q-Former, LLM) as
attributes. Built from the catalog they arrive as config objects; rebuilt from a saved or
copied config they arrive as dicts carrying ``model_type``, which picks the class back.
"""

from __future__ import annotations

from typing import Any, Optional

from transformers import CONFIG_MAPPING, PretrainedConfig


def as_config(value: Any, default_class: type) -> Optional[PretrainedConfig]:
    """``value`` as a config: unchanged if it is one, else built from its dict (None stays None)."""
    if value is None or isinstance(value, PretrainedConfig):
        return value
    fields = dict(value)
    model_type = fields.pop("model_type", None)
    config_class = CONFIG_MAPPING[model_type] if model_type in CONFIG_MAPPING else default_class
    return config_class(**fields)
