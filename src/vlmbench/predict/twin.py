"""The small stand-in ("twin") that runs the same code path as a catalog entry.

The trace needs a model that executes exactly the modules the real one executes, on the same
inputs (same processor, same image resolution, same number of image tokens), only narrower and
shallower. In order of preference:

1. the catalog's own tiny variant of the entry (``tiny_of == entry.id``);
2. the entry's configuration with every width, head count and depth shrunk (:func:`shrink_config`);
   image sizes, patch sizes, query counts, vocabularies and token selection are kept;
3. a tiny entry of the same family with the same model class and processor.

Module paths are compared with layer indices replaced by ``*`` (:class:`PathNormaliser`), so a
2-layer twin maps onto every layer of the real model. Only the indices of *stacks* are replaced: a
``ModuleList`` or ``Sequential`` whose children are all of one class (decoder layers, encoder blocks,
experts). A ``Sequential`` of different modules (``LayerNorm`` then ``Linear``; ``Linear``, ``GELU``,
``Linear``) keeps its indices, so each child maps onto its own; so does a container whose children
differ in shape although not in class (:data:`HETEROGENEOUS_CONTAINERS`: ConvNeXt's ``stages``, 192 to
1,536 channels and 3 to 27 blocks each).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Optional

from vlmbench.catalog import all_entries, get
from vlmbench.catalog.entry import CatalogEntry

WIDTH_KEYS = ("hidden_size", "d_model", "embed_dim", "n_embd", "encoder_hidden_size", "projection_dim",
              "vision_hidden_size", "mm_hidden_size")
FFN_KEYS = ("intermediate_size", "d_ff", "ffn_dim", "n_inner", "mlp_dim", "encoder_ffn_dim", "decoder_ffn_dim")
DEPTH_KEYS = ("num_hidden_layers", "num_layers", "n_layer", "num_decoder_layers", "encoder_layers",
              "decoder_layers")
HEAD_KEYS = ("num_attention_heads", "num_heads", "n_head", "encoder_attention_heads", "decoder_attention_heads")
KV_KEYS = ("num_key_value_heads", "num_kv_heads")
HEAD_DIM_KEYS = ("head_dim", "d_kv")
TINY_WIDTH, TINY_FFN, TINY_DEPTH, TINY_HEADS, TINY_HEAD_DIM = 64, 128, 2, 4, 16


HETEROGENEOUS_CONTAINERS = frozenset({"stages"})


class PathNormaliser:
    """``path -> normalised path`` for the modules of ``model``: an index is replaced by ``*`` when
    its parent is a stack (a ``ModuleList`` / ``Sequential`` whose children are all of one class,
    not named in :data:`HETEROGENEOUS_CONTAINERS`), kept otherwise."""

    def __init__(self, model: Any) -> None:
        import torch

        self._stacks: set[str] = set()
        for name, module in model.named_modules():
            if not isinstance(module, (torch.nn.ModuleList, torch.nn.Sequential)):
                continue
            if name.rsplit(".", 1)[-1] in HETEROGENEOUS_CONTAINERS:
                continue
            classes = {type(child) for child in module.children()}
            if len(classes) == 1:
                self._stacks.add(name)
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        out = self._cache.get(path)
        if out is None:
            parts = path.split(".") if path else []
            out = ".".join("*" if part.isdigit() and ".".join(parts[:i]) in self._stacks else part
                           for i, part in enumerate(parts))
            self._cache[path] = out
        return out


def _shrink_mapping(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    heads = next((values[k] for k in HEAD_KEYS if isinstance(values.get(k), int)), None)
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            continue
        if key in WIDTH_KEYS:
            out[key] = TINY_WIDTH
        elif key in FFN_KEYS:
            out[key] = TINY_FFN
        elif key in DEPTH_KEYS:
            out[key] = min(value, TINY_DEPTH)
        elif key in HEAD_KEYS:
            out[key] = TINY_HEADS
        elif key in KV_KEYS:
            out[key] = TINY_HEADS if heads is None or value >= heads else max(1, TINY_HEADS // 2 if value > 1 else 1)
        elif key in HEAD_DIM_KEYS:
            out[key] = TINY_HEAD_DIM
    return out


def shrink_config(config: Any) -> Any:
    """A copy of ``config`` with narrow widths and 2 layers everywhere (sub-configs included)."""
    config = copy.deepcopy(config)
    _shrink_in_place(config, depth=0)
    return config


def _shrink_in_place(obj: Any, depth: int) -> None:
    if depth > 4:
        return
    attrs = vars(obj)
    shrunk = _shrink_mapping({k: v for k, v in attrs.items() if not k.startswith("_")})
    for key, value in shrunk.items():
        if value is not attrs.get(key):
            setattr(obj, key, value)
    for key, value in list(attrs.items()):
        if key.startswith("_"):
            continue
        if hasattr(value, "to_dict") and hasattr(value, "__dict__"):
            _shrink_in_place(value, depth + 1)
        elif isinstance(value, dict) and any(k in value for k in WIDTH_KEYS + DEPTH_KEYS):
            setattr(obj, key, _shrink_mapping(value))


@dataclass(frozen=True)
class Twin:
    entry: CatalogEntry  # the real entry (its processor and vision modules are the ones used)
    config: Any  # the twin's configuration
    model_class: Any
    how: str  # "tiny variant <id>" | "shrunk configuration" | "family tiny <id>"


def candidates(entry: CatalogEntry) -> list[Twin]:
    """Twins to try, best first (the caller falls through when one cannot be built or run)."""
    if entry.is_tiny:
        return [Twin(entry, entry.build_config(), entry.model_class, "itself (tiny entry)")]
    out: list[Twin] = []
    tinies = [e for e in all_entries() if e.is_tiny]
    for t in tinies:
        if t.tiny_of == entry.id:
            out.append(Twin(entry, t.build_config(), t.model_class, f"tiny variant {t.id}"))
    try:
        out.append(Twin(entry, shrink_config(entry.build_config()), entry.model_class, "shrunk configuration"))
    except Exception:  # noqa: BLE001 - a config that cannot be copied falls through to the next twin
        pass
    for t in tinies:
        if t.model_class is entry.model_class and t.processor is entry.processor and t.tiny_of != entry.id:
            out.append(Twin(entry, t.build_config(), t.model_class, f"family tiny {t.id}"))
    return out


def entry_of(model_id: str) -> CatalogEntry:
    return get(model_id)


def real_config(entry: CatalogEntry) -> Any:
    return entry.build_config()


def first_candidate(entry: CatalogEntry) -> Optional[Twin]:
    c = candidates(entry)
    return c[0] if c else None
