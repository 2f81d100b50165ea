"""A model folder an engine can start from, written from a catalog entry's published shapes (no weights).

The engine is started with dummy weights (vLLM ``--load-format dummy``), so the folder holds what it
reads besides weights: ``config.json`` (the entry's shapes), the stand-in tokenizer, the processor /
preprocessor configuration and the chat template, the same ones the in-process path uses (the config's
special-token ids pointed at the stand-in tokenizer's, as ``backends/hf/loader.py`` does).

Per family, one export function keyed by ``config.model_type``: :data:`EXPORTS`. A family whose stand-in
processor is a transformers processor (``save_pretrained`` writes tokenizer, processor config and chat
template) registers :func:`save_processor_folder`; a family that needs more writes its own function and
registers it with :func:`register_export`. An engine serves the catalog entries whose model type it lists
(``Engine.model_types``) and has an export here (:func:`servable_entries`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from vlmbench.catalog.stand_in import stand_in_processor
from vlmbench.errors import UsageError

ExportHook = Callable[[Any, Any, Path], None]  # (entry, config, folder)
EXPORTS: dict[str, ExportHook] = {}


def register_export(*model_types: str) -> Callable[[ExportHook], ExportHook]:
    def add(fn: ExportHook) -> ExportHook:
        for model_type in model_types:
            EXPORTS[model_type] = fn
        return fn
    return add


# Transformers processors save their own files: the seed LLaVA families and today's VLMs (catalog issue 24).
@register_export("llava", "llava_next", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "gemma3", "internvl", "smolvlm",
                 "idefics3", "llava_onevision", "mistral3", "glm4v")
def save_processor_folder(entry: Any, config: Any, folder: Path) -> None:
    """config.json + the transformers processor's own files (tokenizer, processor config, chat template)."""
    processor = stand_in_processor(entry, config)
    config.architectures = [getattr(entry.model_class, "__name__", type(config).__name__)]
    config.save_pretrained(folder)
    processor.save_pretrained(folder)
    tok = getattr(processor, "tokenizer", processor)
    if getattr(tok, "chat_template", None) is None and getattr(processor, "chat_template", None):
        tok.chat_template = processor.chat_template
        tok.save_pretrained(folder)


def model_type(entry: Any) -> str:
    return str(getattr(entry.build_config(), "model_type", ""))


def why_not_servable(entry: Any, config: Any, engine: Any, device: str) -> str | None:
    kind = str(getattr(config, "model_type", ""))
    if entry.construction == "vlmbench arch" or kind not in engine.model_types:
        return f"model type {kind or entry.construction!r} is not one {engine.name} serves"
    if kind not in EXPORTS:
        return f"no model-folder export for model type {kind!r} (engines/export.py)"
    return engine.check_shapes(config, device)


def servable_entries(engine: Any, device: str) -> list[str]:
    """Catalog ids the engine serves with random weights on ``device``."""
    from vlmbench.catalog import all_entries

    out = []
    for entry in all_entries():
        try:
            config = entry.build_config()
        except Exception:  # noqa: BLE001 - an entry that cannot build its config is not servable
            continue
        if why_not_servable(entry, config, engine, device) is None:
            out.append(entry.id)
    return sorted(out)


def check_servable(entry: Any, engine: Any, device: str) -> Any:
    """The entry's config; UsageError naming why the engine cannot serve it and the entries it can."""
    config = entry.build_config()
    why = why_not_servable(entry, config, engine, device)
    if why is not None:
        supported = ", ".join(servable_entries(engine, device)) or "none"
        raise UsageError(f"--model {entry.id!r}: {engine.name} cannot serve this catalog entry on {device} ({why}); "
                         f"it serves: {supported}")
    return config


def export_folder(entry: Any, root: Path, engine: Any, device: str) -> Path:
    """Write (once per shapes) and return ``root/<entry id>-<hash of config>``; raises UsageError for an
    entry the engine does not serve, listing the ones it does."""
    config = check_servable(entry, engine, device)
    kind = str(config.model_type)
    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:10]
    folder = root / f"{entry.id}-{digest}"
    if (folder / "config.json").is_file():
        return folder
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    EXPORTS[kind](entry, config, tmp)
    tmp.rename(folder)
    return folder


def visible_token_ids(folder: Path) -> list[int]:
    """Ids of the folder's tokenizer whose text is visible on its own: not special, decoding to a
    non-empty string without U+FFFD (a byte that ends inside a multi-byte character)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    special = set(tok.all_special_ids)
    ids = []
    for i in range(len(tok)):
        if i in special:
            continue
        text = tok.decode([i])
        if text.strip() and "\ufffd" not in text:
            ids.append(i)
    return ids


def with_random_weights(entry: Any, folder: Path, seed: int = 0) -> Path:
    """A copy of ``folder`` holding random weights too (``folder-weights``; for an engine that cannot make dummy
    weights itself), from the in-process path's fast initialiser, in float32."""
    import shutil

    import torch

    from vlmbench.catalog.materialise import build_random_model

    target = folder.with_name(folder.name + "-weights")
    if (target / "config.json").is_file():
        return target
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(folder, tmp)
    config = entry.build_config()
    stand_in_processor(entry, config)
    model = build_random_model(entry.model_class, config, "cpu", torch.float32, seed=seed)
    model.save_pretrained(tmp)
    tmp.rename(target)
    return target
