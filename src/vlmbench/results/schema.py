"""The versioned row schema of ``requests.csv``: the single source of column names.

Every other module imports column names, statuses and units from here. A row is raw data
for one measured request; statistics are derived from rows by the reporter, never stored
instead of them.

Versioning: ``SCHEMA_VERSION`` is written into every row. A reader accepts exactly the
versions listed in ``READABLE_VERSIONS`` and refuses anything else with a clear message.
Adding a column is a new version: each released version keeps its own column list in
``COLUMNS_BY_VERSION``, so files written by an older release are still read (columns that
version did not have come back empty).

- version 1: the first release.
- version 2: adds ``size_class``, ``ttft_missing_reason`` and ``connect_ms`` (appended at the end).
- version 3: appends the columns of ``COLUMNS_V3_ADDED`` (every helper of one round adds to that list).
  Among them: ``window_requests``, ``window_steady_s`` and ``window_edge``; endpoint rows'
  ``window_*`` throughput is over the window's steady interval (METRICS.md, "Load windows"),
  where version 2 divided by first send -> last end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SCHEMA_VERSION = "3"
READABLE_VERSIONS = ("1", "2", "3")


class Status(str, Enum):
    """Outcome of one request. Only ``ok`` rows carry timings."""

    OK = "ok"
    OOM = "oom"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"

    def __str__(self) -> str:  # so f-strings and csv write the bare value
        return self.value


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str" | "int" | "float" | "bool"
    unit: str = ""
    doc: str = ""


def _c(name: str, kind: str, unit: str = "", doc: str = "") -> Column:
    return Column(name, kind, unit, doc)


# Order matters: it is the CSV column order.
COLUMNS_V1: tuple[Column, ...] = (
    # identity
    _c("schema_version", "str", doc="row schema version"),
    _c("run_id", "str", doc="run this row belongs to"),
    _c("request_id", "str", doc="stable key of the cell: model|scenario|prompt|repeat|slot"),
    _c("model_id", "str", doc="catalog id, hub id or local folder name"),
    _c("system", "str", doc="seed system the model belongs to (LLaVA-1.5, PaliGemma, ...)"),
    _c("weights", "str", doc="random | pretrained"),
    _c("assumed_shapes", "bool", doc="true when some of the model's shapes are not published"),
    _c("backend", "str", doc="hf | openai"),
    _c("device", "str", doc="cpu, cuda, cuda:1, or the endpoint host for backend=openai"),
    _c("dtype", "str"),
    _c("hardware", "str", doc="short hardware label (GPU name, or CPU model)"),
    _c("processor_kind", "str", doc="fast (torchvision) | pil | remote"),
    _c("attn", "str", doc="attention implementation"),
    _c("cache", "str", doc="KV cache implementation"),
    _c("compile", "bool", doc="torch.compile of the decode step"),
    _c("scenario", "str", doc="scenario name (batch size, output length, load mode)"),
    _c("promptset_version", "str"),
    _c("prompt_id", "str"),
    _c("image_width", "int", "px"),
    _c("image_height", "int", "px"),
    _c("repeat", "int", doc="repeat index, 0-based"),
    _c("batch_size", "int", doc="requests in the same generate call (in-process)"),
    _c("batch_index", "int", doc="position of this request inside its batch"),
    _c("concurrency", "int", doc="requests in flight at once (endpoint load modes)"),
    _c("cold", "bool", doc="first measured request after the model load"),
    _c("status", "str", doc="ok | oom | error | timeout | skipped"),
    _c("error", "str", doc="error category and message for non-ok rows"),
    # token counts
    _c("max_new_tokens", "int", "tokens"),
    _c("length_enforced", "bool", doc="the output length was forced (min = max new tokens)"),
    _c("n_image_tokens", "int", "tokens", "image tokens after expansion (endpoint: what the catalog entry's "
                                          "reference processor gives for the same image sizes)"),
    _c("n_text_tokens", "int", "tokens", "text prompt tokens"),
    _c("n_prompt_tokens", "int", "tokens", "all prompt tokens (image + text)"),
    _c("n_output_tokens", "int", "tokens", "generated tokens, counted per row"),
    _c("n_output_tokens_client", "int", "tokens", "endpoint: client tokenizer count"),
    # stage timings
    _c("preprocess_ms", "float", "ms", "processor call: image decode/resize/normalise + tokenise"),
    _c("vision_ms", "float", "ms", "vision encoder + projector"),
    _c("prefill_ms", "float", "ms", "prompt handed over -> first token on the host"),
    _c("ttft_ms", "float", "ms", "generate start (or request sent) -> first token on the host"),
    _c("ttft_user_ms", "float", "ms", "preprocess + ttft"),
    _c("tpot_ms", "float", "ms", "(e2e - ttft) / (n_out - 1)"),
    _c("itl_p50_ms", "float", "ms", "median gap between consecutive tokens"),
    _c("itl_p99_ms", "float", "ms", "p99 gap between consecutive tokens"),
    _c("e2e_ms", "float", "ms", "generate start (or request sent) -> last token on the host"),
    _c("decode_tps", "float", "tokens/s", "(n_out - 1) / (t_last - t_first)"),
    _c("token_times_ms", "str", "ms", "space-separated arrival times of each token from start"),
    # endpoint-only
    _c("ttfb_ms", "float", "ms", "request sent -> response headers"),
    _c("queue_delay_ms", "float", "ms", "scheduled send -> actual send"),
    _c("ttft_sched_ms", "float", "ms", "scheduled send -> first content"),
    _c("n_chunks", "int", "chunks", "content chunks received"),
    _c("tokens_per_chunk", "float", "tokens/chunk"),
    _c("chunk_gap_p50_ms", "float", "ms"),
    _c("chunk_gap_p99_ms", "float", "ms"),
    _c("payload_bytes", "int", "bytes", "request body size"),
    _c("encode_ms", "float", "ms", "image base64 encoding, outside the timed region"),
    _c("cache_bust", "bool", doc="every request made unique so caches cannot hide cold cost (endpoint default; "
                                 "false with --no-cache-bust)"),
    _c("slo_met", "bool", doc="endpoint: completed and met every --slo limit (TTFT from the scheduled send); false "
                              "for a failed request or an unmeasured limited value; empty without --slo"),
    # batch / window aggregates (same value on every row of one window)
    _c("window_id", "str", doc="batch or load window this row was measured in"),
    _c("window_output_tps", "float", "tokens/s", "sum of n_out over the window duration (endpoint, v3: over the "
                                                 "steady interval)"),
    _c("window_rps", "float", "requests/s", "completed requests over the window duration (endpoint, v3: over the "
                                            "steady interval)"),
    _c("window_goodput_rps", "float", "requests/s", "requests meeting every --slo limit over the window duration "
                                                    "(endpoint, v3: over the steady interval)"),
    # memory and energy
    _c("peak_rss_mb", "float", "MiB", "peak resident memory of the worker process"),
    _c("peak_cuda_allocated_mb", "float", "MiB"),
    _c("peak_cuda_reserved_mb", "float", "MiB"),
    _c("peak_nvml_mb", "float", "MiB", "NVML per-process device memory"),
    _c("weights_mb", "float", "MiB", "bytes of parameters and buffers"),
    _c("energy_j", "float", "J", "NVML total-energy delta over the generate call / its batch size (equal share "
                                  "per row); empty where unsupported or the call is too short for the counter"),
    _c("tokens_per_j", "float", "tokens/J", "n_output_tokens / energy_j"),
    _c("roofline_fraction", "float", "", "decode lower bound / measured TPOT at batch 1"),
    _c("model_load_ms", "float", "ms", "time to build or load the model in the worker"),
    _c("started_at", "str", doc="ISO 8601 UTC wall-clock anchor of the request"),
)

# Version 2: appended columns only, so a version-1 row reads as a version-2 row with these empty.
COLUMNS_V2_ADDED: tuple[Column, ...] = (
    _c("size_class", "str", doc="tiny (a shrunken test variant) | real (published shapes); empty when unknown "
                                "(endpoints, hub ids)"),
    _c("ttft_missing_reason", "str", doc="why ttft_ms is empty on an ok row (e.g. no chunk carried output)"),
    _c("connect_ms", "float", "ms", "endpoint: connection set-up (TCP + TLS) when a new connection was opened "
                                    "for this request; empty when a pooled connection was reused"),
)

# Version 3: appended columns only (a version-2 row reads as version 3 with these empty).
COLUMNS_V3_ADDED: tuple[Column, ...] = (
    # the image axis (issue 23)
    _c("image_source", "str", doc="fixed (prompt-set manifest) | generated (--images, --image-grid) | dataset"),
    _c("n_images", "int", "images", "images the request carried"),
    _c("image_sha256", "str", doc="sha256 of each image file before any cache-busting change, space-separated"),
    _c("cache_state", "str", doc="cold | same-image | identical: what the request shared with earlier ones "
                                 "(--cache-state; endpoint default from --cache-bust); empty in-process "
                                 "without --cache-state"),
    _c("cached_prompt_tokens", "int", "tokens", "endpoint: usage.prompt_tokens_details.cached_tokens, "
                                                "where the server returns it"),
    _c("server_image_tokens", "int", "tokens", "endpoint: server-reported prompt tokens less the request's text "
                                               "tokens (counted with the reference processor)"),
    _c("image_token_mismatch", "bool", doc="endpoint: server_image_tokens differs from n_image_tokens "
                                           "(silent downscaling, a max_pixels cap, a truncated image)"),
    # steady-state load windows (issue 25)
    _c("window_requests", "int", "requests", "requests of the row's batch or load window (its size)"),
    _c("window_steady_s", "float", "s", "endpoint: length of the load window's steady interval (first end -> "
                                        "first end no send replaces), over which window_* throughput is taken"),
    _c("window_edge", "str", doc="endpoint: ramp (sent in the opening burst, before any request ended) | drain "
                                 "(ended after the steady interval) | empty; edge rows are left out of latency "
                                 "statistics"),
    # serving engines and token-exact endpoint timing (issue 22)
    _c("ttft_text_ms", "float", "ms", "endpoint: request sent -> first chunk with visible text (AIPerf's TTFT); "
                                      "ttft_ms is the first generated token where per-chunk token counts are known"),
    _c("token_timing", "str", doc="endpoint: per_chunk_usage (every token-carrying chunk timed, token-exact) | "
                                  "content_chunks (only chunks with visible text are seen)"),
    _c("n_token_chunks", "int", "chunks", "endpoint: chunks that carried generated tokens, empty text included"),
    _c("ttft_vllm_ms", "float", "ms", "vLLM bench serve's TTFT: first chunk with choices"),
    _c("tpot_vllm_ms", "float", "ms/token", "vLLM bench serve's TPOT: (last - first chunk with choices) / (n_out - 1)"),
    _c("tpot_aiperf_ms", "float", "ms/token", "AIPerf's ITL: (last response - first content) / (n_out - 1)"),
    _c("stack", "str", doc="serving stack: hf (in-process transformers), <engine>-<version>+<recipe hash> for an "
                           "engine vlmbench started, endpoint:<server kind> for an endpoint it did not"),
)

COLUMNS_V2: tuple[Column, ...] = COLUMNS_V1 + COLUMNS_V2_ADDED
COLUMNS: tuple[Column, ...] = COLUMNS_V2 + COLUMNS_V3_ADDED
COLUMNS_BY_VERSION: dict[str, tuple[Column, ...]] = {"1": COLUMNS_V1, "2": COLUMNS_V2, "3": COLUMNS}

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
COLUMN_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
