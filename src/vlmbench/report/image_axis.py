"""The report's image-axis sections: what a visual token costs (the fits of
``analysis/visual_cost.py``, written to ``visual_token_cost.csv``) and the endpoints whose
servers processed a different number of visual tokens than the model's processor gives
(``image_token_mismatch``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from vlmbench.analysis.visual_cost import Fit, fit_all
from vlmbench.report.export_csv import write_csv
from vlmbench.report.html import esc
from vlmbench.vocab.metrics import metric

COST_FILE = "visual_token_cost.csv"
COST_COLUMNS = (
    "model_id", "hardware", "backend", "device", "dtype", "attn", "compile", "cache_state", "metric", "n_rows",
    "n_token_counts", "ms_per_1k_tokens", "ms_per_1k_tokens_ci_low", "ms_per_1k_tokens_ci_high", "intercept_ms",
    "intercept_ms_ci_low", "intercept_ms_ci_high", "quadratic_ms_per_1k_tokens_sq", "quadratic_ci_low",
    "quadratic_ci_high", "r2", "not_fitted",
)


def frame_of(groups: Sequence[Any]) -> pd.DataFrame:
    frames = [g.frame for g in groups]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_cost(out_dir: Path, fits: Sequence[Fit]) -> None:
    write_csv(out_dir / COST_FILE, COST_COLUMNS, [f.row() for f in fits])


def _num(value: Any, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def cost_section(fits: Sequence[Fit], link: bool = True) -> str:
    """Table: per stack and metric, ms per 1k visual tokens [CI] and intercept [CI]."""
    if not fits:
        return ""
    head = ("<tr><th>model</th><th>hardware</th><th>stack</th><th>cache state</th><th>stage</th><th>rows</th>"
            "<th>token counts</th><th>ms / 1k visual tokens [95% CI]</th><th>intercept ms [95% CI]</th>"
            "<th>quadratic</th><th>R²</th></tr>")
    body = []
    for fit in fits:
        r = fit.row()
        stack = " ".join(str(r[k]) for k in ("backend", "dtype", "attn") if r.get(k) not in (None, ""))
        if fit.fitted:
            slope = (f"{_num(r['ms_per_1k_tokens'])} [{_num(r['ms_per_1k_tokens_ci_low'])}, "
                     f"{_num(r['ms_per_1k_tokens_ci_high'])}]")
            inter = f"{_num(r['intercept_ms'])} [{_num(r['intercept_ms_ci_low'])}, {_num(r['intercept_ms_ci_high'])}]"
            quad = "kept" if fit.c is not None else "not shown"
            r2 = _num(r["r2"], 2)
        else:
            slope, inter, quad, r2 = f"not fitted: {r['not_fitted']}", "", "", ""
        cells = (r["model_id"], r["hardware"], stack, r.get("cache_state") or "", metric(fit.metric).label,
                 r["n_rows"], r["n_token_counts"], slope, inter, quad, r2)
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    data = f' Data: <a href="{COST_FILE}">{COST_FILE}</a>' if link else ""
    return (f'<h2>What a visual token costs</h2><p class="note">Warm batch-1 requests; OLS of each stage against '
            f'the request\'s visual tokens, quadratic term kept only where its bootstrap CI excludes 0 '
            f'(METRICS.md).{data}</p>'
            f'<table class="data"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>')


def parity_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Per endpoint model and device: rows checked, rows whose server's visual tokens differed."""
    if frame.empty or "image_token_mismatch" not in frame:
        return pd.DataFrame()
    checked = frame[frame["image_token_mismatch"].notna()]
    if checked.empty:
        return pd.DataFrame()
    flag = checked["image_token_mismatch"].astype(bool)
    out = checked.assign(flag=flag).groupby(["model_id", "device"], dropna=False).agg(
        rows=("flag", "size"), mismatched=("flag", "sum"))
    return out.reset_index()


def parity_section(frame: pd.DataFrame) -> str:
    table = parity_rows(frame)
    if table.empty:
        return ""
    bad = table[table["mismatched"] > 0]
    lines = "".join(f"<li>{esc(r.model_id)} at {esc(r.device)}: {int(r.mismatched)} of {int(r.rows)} requests</li>"
                    for r in bad.itertuples())
    verdict = (f"<p>Servers that processed a different number of visual tokens than the model's processor "
               f"gives (silent downscaling, a max_pixels cap, a truncated image):</p><ul>{lines}</ul>" if lines else
               f"<p>Every checked endpoint request ({int(table['rows'].sum())}) matched the model's processor.</p>")
    return f"<h2>Input parity (endpoints)</h2>{verdict}"


def image_axis_sections(groups: Sequence[Any], out_dir: Path, with_files: bool = True) -> str:
    """Both sections for these groups; ``with_files``: also write visual_token_cost.csv in
    ``out_dir`` (the report's, linked from the section)."""
    frame = frame_of(groups)
    fits = fit_all(frame)
    html = ""
    if fits:
        if with_files:
            write_cost(out_dir, fits)
        html += cost_section(fits, link=with_files)
    return html + parity_section(frame)
