"""Load a model and its processor: random weights from the catalog, or a pretrained checkpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from vlmbench.catalog import CatalogEntry, get, has
from vlmbench.catalog.materialise import build_random_model
from vlmbench.catalog.stand_in import align_config_with_tokenizer as _align_config_with_tokenizer  # noqa: F401 (predict/trace)
from vlmbench.catalog.stand_in import stand_in_processor
from vlmbench.errors import UsageError

# Module paths tried, in order, when an entry does not name its vision stage.
VISION_CANDIDATES = ("model.vision_tower", "vision_tower", "model.vision_model", "vision_model",
                     "model.visual", "visual", "vision_encoder")
PROJECTOR_CANDIDATES = ("model.multi_modal_projector", "multi_modal_projector", "model.qformer",
                        "qformer", "model.language_projection", "language_projection")


@dataclass
class Loaded:
    model: torch.nn.Module
    processor: Any
    entry: Optional[CatalogEntry]
    source: str  # catalog id, hub id or folder actually loaded
    tokenizer_kind: str  # "stand-in BPE" | "checkpoint"
    prompt_template: str


def looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or os.sep in model and not _looks_like_hub_id(model)


def _looks_like_hub_id(model: str) -> bool:
    parts = model.split("/")
    return len(parts) == 2 and all(parts) and not model.startswith((".", "/", "~"))


def check_model_reference(model: str, weights: str) -> None:
    """Fail early (exit 2) on references that can never load."""
    if weights == "random":
        get(model)  # raises UsageError naming the unknown id
        return
    if has(model):
        return
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"--model {model!r}: not a folder")
        if not (path / "config.json").exists():
            raise UsageError(f"--model {model!r}: folder has no config.json")
        return
    if looks_like_path(model) or not _looks_like_hub_id(model):
        raise UsageError(f"--model {model!r}: no such local folder, and not a hub id (owner/name)")


def load_random(entry: CatalogEntry, device: torch.device, dtype: torch.dtype, seed: int,
                attn: Optional[str]) -> Loaded:
    config = entry.build_config()
    processor = stand_in_processor(entry, config)
    if attn:
        config._attn_implementation = attn
    model = build_random_model(entry.model_class, config, device, dtype, seed=seed)
    return Loaded(model, processor, entry, entry.id, "stand-in BPE", entry.prompt_template)


def load_pretrained(model: str, device: torch.device, dtype: torch.dtype, trust_remote_code: bool,
                    attn: Optional[str]) -> Loaded:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    entry = get(model) if has(model) else None
    source = entry.checkpoints[0] if entry and entry.checkpoints else model
    if entry and not entry.checkpoints:
        raise UsageError(f"--model {model!r}: no published checkpoint; use --weights random")
    if Path(source).expanduser().exists():
        source = str(Path(source).expanduser())
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": trust_remote_code}
    if attn:
        kwargs["attn_implementation"] = attn
    processor = AutoProcessor.from_pretrained(source, trust_remote_code=trust_remote_code)
    loaded = AutoModelForImageTextToText.from_pretrained(source, **kwargs)
    loaded = loaded.to(device).eval()
    template = entry.prompt_template if entry else "<image>\n{prompt}"
    return Loaded(loaded, processor, entry, source, "checkpoint", template)


def vision_stage_modules(model: torch.nn.Module, entry: Optional[CatalogEntry]) -> list[torch.nn.Module]:
    from vlmbench.measure.clock import resolve_module

    paths = list(entry.vision_modules) if entry and entry.vision_modules else []
    if not paths:
        for group in (VISION_CANDIDATES, PROJECTOR_CANDIDATES):
            for p in group:
                if resolve_module(model, p) is not None:
                    paths.append(p)
                    break
    modules = [resolve_module(model, p) for p in paths]
    return [m for m in modules if m is not None]
