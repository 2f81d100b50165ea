"""Predictions per hardware, for the site: one record per (hardware, model, prompt, batch).

Each record carries the predicted figures with their intervals, the profile and its kind, and
the predictor's *measured* error on that hardware where a validation is known (the profile's
``validation`` summary, or one passed in): median absolute error per stage, held out by model
on the same machine; and what the prediction claims (``validation``, ``interval_level``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from vlmbench.predict.claims import UNVALIDATED
from vlmbench.predict.predictions_io import STAGES, read_predictions


def prediction_records(predictions_csv: str | Path,
                       errors_by_device: Optional[dict[str, dict[str, float]]] = None) -> list[dict[str, Any]]:
    """``errors_by_device[device][stage] = median abs error (fraction)`` from a validation report."""
    errors_by_device = errors_by_device or {}
    out = []
    for r in read_predictions(predictions_csv):
        device = r["device"] or r["profile"]
        rec = {
            "hardware": device, "model_id": r["model_id"], "prompt_id": r["prompt_id"],
            "batch_size": r["batch_size"], "max_new_tokens": r["max_new_tokens"], "profile": r["profile"],
            "profile_kind": r["profile_kind"], "source": "predicted",
            "validation": r["validation"], "interval_level": r["interval_level"],
            "unvalidated": r["validation"] == UNVALIDATED,
            "stages": {s: {"value": r[s], "lo": r[f"{s}_lo"], "hi": r[f"{s}_hi"]} for s in STAGES},
            "fits_memory": r["fits_memory"],
            "measured_error": errors_by_device.get(device) or errors_by_device.get(r["profile"]),
        }
        out.append(rec)
    return out


def errors_from_validation(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{device: {stage: median abs error}}`` from :func:`vlmbench.predict.validate.validate`'s report:
    the figures held out by model on the same machine (leave-one-model-out); the plain ones only for a profile that was not
    calibrated (an in-sample fit's error would flatter it); nothing otherwise."""
    blocks = report.get("blocks", {})
    block = blocks.get("lomo") or (blocks.get("profile") if report.get("kind") != "calibrated" else None) or {}
    if not block:
        return {}
    return {report.get("device", ""): {s: v["median_abs"] for s, v in block.items() if v.get("n")}}
