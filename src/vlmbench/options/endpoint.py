"""Options of the endpoint backend (``--backend openai``: OpenAI-compatible servers)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Optional

from vlmbench.options.base import BackendOptions
from vlmbench.options.declare import Opt, at_least, more_than
from vlmbench.vocab.listargs import float_list, int_list


class EndpointOptions(BackendOptions):
    group: ClassVar[str] = "OpenAI-compatible endpoints (--backend openai)"

    backend: Literal["openai"] = "openai"
    endpoint: Annotated[Optional[str], Opt(
        "--endpoint", metavar="URL", help="server base URL, e.g. http://127.0.0.1:8000 (a trailing /v1 is fine); "
                                          "--model is the model name the server serves")] = None
    # the NAME of the variable holding the key; the key itself is never stored
    api_key_env: Annotated[Optional[str], Opt(
        "--api-key-env", metavar="NAME",
        help="read the API key from environment variable NAME (the key is never written anywhere)")] = None
    # checked against backends/openai/server_kinds.py (its registry) by the backend
    server_kind: Annotated[str, Opt(
        "--server-kind", metavar="KIND",
        help="how to force the output length: vllm/sglang (min_tokens + ignore_eos), "
             "transformers (generation_config), generic (max_tokens only, length not enforced); "
             "auto: detect from GET /v1/models (default)")] = "auto"
    concurrency: Annotated[list[int], at_least(1), Opt(
        "--concurrency", parse=int_list, metavar="C,C",
        help="one closed-loop window per value: C requests kept in flight (default: sequential)")] = []
    rates: Annotated[list[float], Opt(
        "--rate", parse=float_list, metavar="R,R",
        help="one open-loop window per value: Poisson arrivals at R requests/s")] = []
    min_window_requests: Annotated[Optional[int], at_least(0), Opt(
        "--min-window-requests", metavar="N",
        help="each load window sends at least N requests, repeating the prompts (default: 10 x C for C > 1; "
             "none for sequential and Poisson windows); a window below 10 x C is noted")] = None
    window_seconds: Annotated[Optional[float], more_than(0, " s"), Opt(
        "--window-seconds", metavar="S",
        help="each load window keeps sending further repeats of its prompts until S seconds have passed "
             "since its first send (at least its planned requests go out)")] = None
    slo: Annotated[Optional[str], Opt(
        "--slo", metavar="ttft=MS,tpot=MS",
        help="service-level limits (ttft, tpot, e2e in ms): rows record slo_met, windows goodput")] = None
    cache_bust: Annotated[bool, Opt(
        "--cache-bust", action="bool",
        help="make every request unique, warmup included (text nonce + one imperceptible pixel "
             "change) so prefix and image caches cannot hide what a new request costs (default); "
             "--no-cache-bust sends identical requests for each prompt (warm-cache behaviour)")] = True
    new_connection_per_request: Annotated[bool, Opt(
        "--new-connection-per-request", action="store_true",
        help="open a new connection for every request and close it after "
             "(default: keep-alive connections, reused; set-up time is in connect_ms)")] = False
    ca_bundle: Annotated[Optional[str], Opt(
        "--ca-bundle", metavar="FILE", help="trust only the certificates in this PEM file for https endpoints "
                                            "(default: the system's trusted certificates)")] = None
    hardware: Annotated[Optional[str], Opt(
        "--hardware", metavar="LABEL", help="hardware label for the rows (default: the endpoint host:port, so each server is its own series)")] = None
    tokenizer: Annotated[Optional[str], Opt(
        "--tokenizer", metavar="ID_OR_DIR", help="tokenizer for the client-side output token count "
                                                 "(default: the --model folder when it is a local folder)")] = None
