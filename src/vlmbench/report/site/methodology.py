"""The methodology page: metric definitions, how the reporter aggregates, the prompt set, and
what random weights do and do not tell.

Metric definitions come from the project's METRICS.md when one is given (rendered through
markdown-it-py by ``safe_markdown``); otherwise from the column docs of ``results/schema.py``. The column
reference from the schema is always appended, so every CSV column is defined on the page.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any, Iterable, Optional

from vlmbench.analysis.statistics import BOOTSTRAP_RESAMPLES, CONFIDENCE, HIGH_CV, MIN_N_FOR_PERCENTILE
from vlmbench.report.compare import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT_PCT
from vlmbench.report.html import esc
from vlmbench.report.site.safe_markdown import render
from vlmbench.report.stability import DRIFT_P, DRIFT_RELATIVE, MIN_UNITS_FOR_DRIFT
from vlmbench.results.schema import COLUMNS, SCHEMA_VERSION

_VERSION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def column_reference() -> str:
    """Every requests.csv column: name, type, unit, definition (schema docs)."""
    rows = "".join(
        f"<tr><td><code>{esc(c.name)}</code></td><td>{esc(c.kind)}</td><td>{esc(c.unit or '–')}</td>"
        f"<td>{esc(c.doc or '–')}</td></tr>" for c in COLUMNS
    )
    return (f"<p>Schema version {esc(SCHEMA_VERSION)}. An empty cell means not measured or not applicable, "
            "never 0.</p><div class=\"table-wrap\"><table><thead><tr><th>column</th><th>type</th><th>unit</th>"
            f"<th>definition</th></tr></thead><tbody>{rows}</tbody></table></div>")


def aggregation_rules() -> str:
    """How the reporter turns rows into the numbers on this site (mirrors analysis/statistics.py)."""
    items = [
        "Every statistic is computed from the rows of <code>requests.csv</code>; nothing is re-run.",
        "Groups: one per (run, model, scenario). Only rows with <code>status = ok</code> carry timings; "
        "rows with another status are counted (and listed as flags), never averaged.",
        "Warm rows (<code>cold = false</code>) make every latency and rate statistic. The cold row (first "
        "request after the model load) is reported on its own as <em>cold TTFT</em>.",
        "Percentiles: linear interpolation between closest ranks (type 7): with sorted values x<sub>0</sub>.."
        "x<sub>n-1</sub> and h = (n-1)&middot;q/100, p<sub>q</sub> = x<sub>&lfloor;h&rfloor;</sub> + "
        "(h-&lfloor;h&rfloor;)(x<sub>&lceil;h&rceil;</sub> - x<sub>&lfloor;h&rfloor;</sub>). "
        + ", ".join(f"p{q} is left empty below n = {n}" for q, n in MIN_N_FOR_PERCENTILE.items() if n > 1)
        + " warm rows (an empty cell, not a flag on every row).",
        "Mean and sample standard deviation (n-1) over warm rows, with CV = std / mean (spread between prompts "
        "included: it is not a noise figure).",
        f"Stability, per prompt across repeats: the repeat CV is the pooled spread of each prompt (or batch of "
        f"prompts) around its own mean, flagged above {HIGH_CV:g}; drift compares each prompt's later repeats "
        f"with its earlier ones (paired sign-flip test), flagged beyond {DRIFT_RELATIVE:.0%} at p &lt; "
        f"{DRIFT_P:g} with at least {MIN_UNITS_FOR_DRIFT} prompts measured twice. With one repeat neither can fire.",
        f"Confidence interval of the median (TTFT, TTFT user, TPOT): percentile bootstrap over generate windows "
        f"(the B rows of one batch share their timings, so the window is the independent unit), "
        f"{BOOTSTRAP_RESAMPLES} resamples with a fixed seed, {CONFIDENCE:.0%} level.",
        "Headline TTFT is <code>ttft_user_ms</code>, what a user waits for: in-process preprocessing + model TTFT; "
        "over HTTP, request sent to first output chunk (upload and server-side preprocessing included). "
        "Model TTFT (<code>ttft_ms</code>) and the stage columns keep their own scopes (METRICS.md).",
        "Cache-busted and unbusted endpoint rows are separate groups; real-size and tiny models are shown apart.",
        "Throughput: <code>window_output_tps</code> and <code>window_rps</code> are per batch/load window; "
        "the median over windows is reported (each window counted once), beside the window's size "
        "(<code>window_requests</code>, <code>window_steady_s</code>). An endpoint window's throughput is over its "
        "steady interval (first end to the first end no send replaces); its ramp and drain rows "
        "(<code>window_edge</code>) are kept out of the latency statistics. The load level of an endpoint window "
        "is the window's own concurrency, not its first row's.",
        "SLO attainment and goodput share one definition: a failed or unjudged request is a miss.",
        "Peak memory: the maximum over ok rows; the headline value is device memory (NVML, else CUDA "
        "reserved, else allocated) where measured, otherwise the worker process's peak RSS (MiB).",
        "Stage breakdown: medians over warm requests of preprocess, vision, prefill, the rest of TTFT "
        "(TTFT - vision - prefill) and decode (E2E - TTFT), in ms.",
        "Pareto front (TTFT vs tokens/s): a point is on it when no other point has both a lower-or-equal "
        "TTFT p50 and a higher-or-equal decode tokens/s p50, one of them strictly.",
        f"<code>vlmbench compare A B</code>: paired per prompt (geometric mean of per-prompt ratios B/A); "
        f"changes under {DEFAULT_MIN_EFFECT_PCT:g}% never count. The within-run p-value (p &lt; {DEFAULT_ALPHA:g}) "
        "says only that the two runs differ, not that the code did: two runs of unchanged code differ by the "
        "machine's between-run noise. A regression is called only against a known between-run spread (from an "
        "archive's history, <code>--archive</code>, or <code>--between-run-noise</code>); otherwise the verdict "
        "says the noise is unknown and how to measure it.",
        "<code>vlmbench gate</code>: each cell of a new run against the last archived runs of the same model, "
        "hardware and scenario, judged against the threshold plus the between-run spread learnt from the "
        "archive's run medians (METRICS.md).",
    ]
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


RANDOM_WEIGHTS = (
    "<p>Rows marked <span class=\"badge random\">random weights</span> come from models built with the "
    "published shapes (layers, widths, heads, vocabulary, visual-token count) and random weight values.</p>"
    "<ul><li><strong>They tell</strong> speed and memory: TTFT, TPOT, E2E, tokens/s, peak memory and energy depend on "
    "the shapes, dtype, attention implementation, sequence lengths and hardware, not on the weight values.</li>"
    "<li><strong>They do not tell</strong> answer quality: the output text is meaningless. Effects that depend "
    "on values are absent too: data-dependent expert routing, speculative-decoding acceptance.</li>"
    "<li><strong>EOS never ends a request early</strong>: the output length is forced (min = max new tokens), so every "
    "request of a scenario generates the same number of tokens, with random or real weights.</li></ul>"
)


def promptset_manifest(version: str) -> Optional[dict[str, Any]]:
    """The packaged prompt-set manifest of ``version`` (None when this vlmbench has no such set)."""
    if not _VERSION_NAME.match(version):
        return None
    path = resources.files("vlmbench.promptset").joinpath(version, "manifest.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def promptset_section(versions: Iterable[str]) -> str:
    parts = []
    for version in sorted(set(versions)):
        manifest = promptset_manifest(version)
        if manifest is None:
            parts.append(f"<h3>Prompt set {esc(version)}</h3><p>Not shipped with this vlmbench version.</p>")
            continue
        rows = "".join(
            f"<tr><td><code>{esc(item.get('id'))}</code></td><td>{esc(item.get('category'))}</td>"
            f"<td class=\"num\">{esc(item.get('width'))}&times;{esc(item.get('height'))}</td>"
            f"<td class=\"num\">{esc(item.get('bytes'))}</td><td>{esc(item.get('format'))}</td>"
            f"<td>{esc(item.get('prompt'))}</td><td>{esc(item.get('source'))}</td><td>{esc(item.get('licence'))}</td></tr>"
            for item in manifest.get("items", [])
        )
        parts.append(
            f"<h3>Prompt set {esc(version)}</h3><p>{esc(manifest.get('description', ''))}</p>"
            "<div class=\"table-wrap\"><table class=\"promptset\"><thead><tr><th>id</th><th>category</th>"
            "<th>size (px)</th><th>bytes</th><th>format</th><th>prompt</th><th>source</th><th>licence</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></div>"
        )
    return "".join(parts)


def methodology_html(metrics_markdown: Optional[str], promptset_versions: Iterable[str]) -> str:
    """Body of methodology.html."""
    if metrics_markdown:
        definitions = f'<section class="metrics-md">{render(metrics_markdown)}</section>'
    else:
        definitions = "<h2>Metric definitions</h2>" + column_reference()
    return (
        f"{definitions}"
        f"<h2>How the numbers on this site are aggregated</h2>{aggregation_rules()}"
        f"<h2>Rows marked random weights</h2>{RANDOM_WEIGHTS}"
        f"<h2>Prompt set</h2>{promptset_section(promptset_versions)}"
        f"<h2>Column reference (requests.csv)</h2>{column_reference()}"
    )
