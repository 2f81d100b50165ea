"""``manifest.json`` (one per run folder) and ``campaign.json`` (one per campaign folder): their
typed, versioned formats, the one writer (atomic) and the one reader of each.

manifest.json holds the resolved configuration, the backend and its capabilities, the prompt
set, the environment, per-model facts and times. It is written at the start of a run and
rewritten at the end, so a killed run still leaves a readable manifest. No secrets are ever
written: the config holds the *name* of an API-key variable at most, never its value.

A reader refuses, in one line naming the file, a version it does not know, a file that is not
JSON and a field of the wrong type; in memory a manifest is the plain dict the file holds
(checked against :class:`Manifest` on the way in and out).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, ValidationError

from vlmbench.errors import SchemaError
from vlmbench.vocab.files import (CAMPAIGN_FILE, CAMPAIGN_VERSION, MANIFEST_FILE, MANIFEST_VERSION,
                                  write_json_atomic)


class Manifest(BaseModel):
    """manifest.json, version ``MANIFEST_VERSION``. Keys a later release adds within the same
    version are kept as they are (``extra="allow"``)."""

    model_config = ConfigDict(extra="allow")

    manifest_version: str = MANIFEST_VERSION
    run_id: Optional[str] = None
    started_at: Optional[str] = None
    ended_at: Optional[str] = None
    resumed_at: list[str] = []
    command: list[str] = []
    config: dict[str, Any] = {}  # RunConfig.to_json()
    backend: Optional[dict[str, Any]] = None  # name and capabilities (vlmbench.backends.manifest_facts)
    promptset: dict[str, Any] = {}  # version, ids
    environment: dict[str, Any] = {}  # fingerprint of the machine (campaigns: of its first node)
    nodes: dict[str, Any] = {}  # campaigns: where each job ran
    models: dict[str, Any] = {}  # per model: constants, load facts, errors
    rows_expected: Optional[int] = None
    rows_written: Optional[int] = None
    rows_by_status: dict[str, int] = {}
    campaign: Optional[dict[str, Any]] = None  # campaigns: name, target, requirements


class CampaignRecord(BaseModel):
    """campaign.json, version ``CAMPAIGN_VERSION``: targets, jobs, where each ran."""

    model_config = ConfigDict(extra="allow")

    campaign_version: str = CAMPAIGN_VERSION
    name: str
    run_id: str
    targets: dict[str, Any] = {}
    jobs: dict[str, Any] = {}


def _checked(path: Path, data: Any, model: type[BaseModel], version_key: str, version: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: not a JSON object")
    found = data.get(version_key, version)  # files written before the key existed are the first version
    if str(found) != version:
        raise SchemaError(f"{path}: {version_key} {found!r} not understood (this vlmbench reads {version})")
    try:
        model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"])
        raise SchemaError(f"{path}: {where}: {error['msg']}") from None
    return data


def _read(path: Path, model: type[BaseModel], version_key: str, version: str) -> Optional[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SchemaError(f"{path}: unreadable: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SchemaError(f"{path}: not valid JSON: {exc}") from None
    return _checked(path, data, model, version_key, version)


def write_manifest(run_dir: Path, data: dict[str, Any]) -> None:
    """Write (replace) ``run_dir``/manifest.json atomically; ``data`` is checked first."""
    path = Path(run_dir) / MANIFEST_FILE
    data = {"manifest_version": MANIFEST_VERSION, **data}
    _checked(path, json.loads(json.dumps(data, default=str)), Manifest, "manifest_version", MANIFEST_VERSION)
    write_json_atomic(path, data, indent=2, sort_keys=False, default=str)


def read_manifest(run_dir: Path) -> Optional[dict[str, Any]]:
    """``run_dir``/manifest.json, or None when there is none; SchemaError (one line naming the
    file) for one that cannot be read, is not JSON, has a version this vlmbench does not know or
    a field of the wrong type."""
    return _read(Path(run_dir) / MANIFEST_FILE, Manifest, "manifest_version", MANIFEST_VERSION)


def write_campaign_record(path: Path, data: dict[str, Any]) -> None:
    data = {"campaign_version": CAMPAIGN_VERSION, **data}
    _checked(path, json.loads(json.dumps(data, default=str)), CampaignRecord, "campaign_version", CAMPAIGN_VERSION)
    write_json_atomic(path, data, indent=2, default=str)


def read_campaign_record(folder: Path) -> Optional[dict[str, Any]]:
    """``folder``/campaign.json, or None when there is none (errors as :func:`read_manifest`)."""
    return _read(Path(folder) / CAMPAIGN_FILE, CampaignRecord, "campaign_version", CAMPAIGN_VERSION)
