"""The site's predictions section: predicted figures per hardware, in their own tables with a
distinct "predicted" badge, never mixed into the measured leaderboard tables.

Input: the records of :func:`vlmbench.predict.site_records.prediction_records` (read from
``predictions.csv`` files). Each hardware section says which profile (and its kind: spec sheet,
micro-benchmark, calibrated) the figures come from, and the predictor's measured error on that
hardware where one is known (held-out median absolute error per stage), else that it is unknown.
Every string is escaped. The badge's style is in ``assets/site.css`` (the pages' CSP allows no
inline style). The records are read by the caller (the CLI), so this layer does not import the
predictor (a record's ``unvalidated`` flag is set there).
"""

from __future__ import annotations

from typing import Any, Sequence

from vlmbench.report.html import esc
from vlmbench.vocab.metrics import metric

BADGE = '<span class="badge-predicted" title="predicted by vlmbench predict, not measured">predicted</span>'
# measured metrics' headers from the registry; the predicted allocator peak is no registered metric
# (the headline peak memory is device memory, vlmbench.results.selection)
COLUMNS = tuple((c, metric(c).heading()) for c in ("ttft_ms", "tpot_ms", "e2e_ms", "vision_ms")) + (
    ("peak_allocated_mb", "peak allocated MB"),)


def _num(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"


def _cell(stage: dict[str, Any]) -> str:
    v, lo, hi = stage.get("value"), stage.get("lo"), stage.get("hi")
    if v is None:
        return '<td class="pred">-</td>'
    return f'<td class="pred" title="interval {esc(_num(lo))} - {esc(_num(hi))}">{esc(_num(v))} ' \
           f'<small>[{esc(_num(lo))}-{esc(_num(hi))}]</small></td>'


UNVALIDATED_BADGE = ('<span class="badge-unvalidated" title="no measured rows validated these figures: spec-sheet '
                     'or micro-benchmark priors">unvalidated</span>')


def _error_note(err: Any) -> str:
    if not err:
        return "Predictor error on this hardware: not measured yet (no validation against measured rows)."
    parts = ", ".join(f"{esc(stage)} {float(v):.0%}" for stage, v in sorted(err.items()) if v is not None)
    return f"Predictor error measured on this hardware (median absolute, held out by model, same machine): {parts}."


def _claims(rows: Sequence[dict[str, Any]]) -> str:
    """What the section's figures rest on: validation and the level of their intervals."""
    validation = sorted({str(r.get("validation") or "not recorded") for r in rows})
    levels = sorted({str(r.get("interval_level") or "not recorded") for r in rows})
    return (f"Validation: {esc('; '.join(validation))}. "
            f"Intervals: {esc('; '.join(levels))}.")


def predictions_section(records: Sequence[dict[str, Any]]) -> str:
    """HTML for every hardware's predictions (an empty string when there are none)."""
    if not records:
        return ""
    by_hw: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_hw.setdefault(str(r.get("hardware") or ""), []).append(r)
    out = [f"<h2>Predictions {BADGE}</h2>",
           '<p class="lead">Figures on hardware nobody measured, from <code>vlmbench predict</code>: op-level '
           "model of each stage built from the catalog shapes and the real image-token counts. "
           "Not measurements: each cell shows the prediction and its interval; each hardware says what "
           "the figures were validated on and what level their intervals have.</p>"]
    for hw, rows in sorted(by_hw.items()):
        kinds = sorted({f"{r.get('profile')} ({r.get('profile_kind')})" for r in rows})
        head = "".join(f"<th>{esc(label)}</th>" for _, label in COLUMNS)
        body = []
        for r in sorted(rows, key=lambda x: (str(x.get("model_id")), str(x.get("prompt_id")), x.get("batch_size") or 0)):
            cells = "".join(_cell(r["stages"].get(key, {})) for key, _ in COLUMNS)
            fits = "" if r.get("fits_memory") in (None, True) else ' <small>(does not fit)</small>'
            flag = f" {UNVALIDATED_BADGE}" if r.get("unvalidated") else ""
            body.append(f"<tr><td>{esc(r.get('model_id'))} {BADGE}{flag}{fits}</td><td>{esc(r.get('prompt_id'))}</td>"
                        f"<td>{esc(r.get('batch_size'))}</td>{cells}</tr>")
        err = None
        for r in rows:
            err = err or r.get("measured_error")
        out.append(
            f'<section class="hardware predicted"><h3>{esc(hw)} {BADGE}</h3>'
            f"<p>Profile: {esc(', '.join(kinds))}. {_claims(rows)} {_error_note(err)}</p>"
            f'<table class="predictions"><thead><tr><th>model</th><th>prompt</th><th>batch</th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></section>"
        )
    return "".join(out)
