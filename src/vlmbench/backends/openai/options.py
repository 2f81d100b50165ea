"""Command-line options of ``vlmbench run --backend openai`` and their RunConfig fields.

``cli/run.py`` calls :func:`add_arguments` and merges :func:`config_fields` into the
RunConfig, so the options and the fields stay in one place. Light on imports on purpose
(argparse, :mod:`server_kinds` and the list argument types only): every ``vlmbench`` invocation builds this parser.
"""

from __future__ import annotations

import argparse
from typing import Any

from vlmbench.backends.openai.server_kinds import KIND_CHOICES
from vlmbench.vocab.listargs import float_list, int_list


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("OpenAI-compatible endpoints (--backend openai)")
    g.add_argument("--endpoint", default=None, metavar="URL",
                   help="server base URL, e.g. http://127.0.0.1:8000 (a trailing /v1 is fine); "
                        "--model is the model name the server serves")
    g.add_argument("--api-key-env", default=None, metavar="NAME",
                   help="read the API key from environment variable NAME (the key is never written anywhere)")
    g.add_argument("--server-kind", default="auto", choices=KIND_CHOICES,
                   help="how to force the output length: vllm/sglang (min_tokens + ignore_eos), "
                        "transformers (generation_config), generic (max_tokens only, length not enforced); "
                        "auto: detect from GET /v1/models (default)")
    g.add_argument("--concurrency", type=int_list, default=[], metavar="C,C",
                   help="one closed-loop window per value: C requests kept in flight (default: sequential)")
    g.add_argument("--rate", type=float_list, default=[], dest="rates", metavar="R,R",
                   help="one open-loop window per value: Poisson arrivals at R requests/s")
    g.add_argument("--slo", default=None, metavar="ttft=MS,tpot=MS",
                   help="service-level limits (ttft, tpot, e2e in ms): rows record slo_met, windows goodput")
    g.add_argument("--cache-bust", action=argparse.BooleanOptionalAction, default=True,
                   help="make every request unique, warmup included (text nonce + one imperceptible pixel "
                        "change) so prefix and image caches cannot hide what a new request costs (default); "
                        "--no-cache-bust sends identical requests for each prompt (warm-cache behaviour)")
    g.add_argument("--new-connection-per-request", action="store_true",
                   help="open a new connection for every request and close it after "
                        "(default: keep-alive connections, reused; set-up time is in connect_ms)")
    g.add_argument("--ca-bundle", default=None, metavar="FILE",
                   help="trust only the certificates in this PEM file for https endpoints "
                        "(default: the system's trusted certificates)")
    g.add_argument("--hardware", default=None, metavar="LABEL",
                   help="hardware label for the rows (default: remote)")
    g.add_argument("--tokenizer", default=None, metavar="ID_OR_DIR",
                   help="tokenizer for the client-side output token count "
                        "(default: the --model folder when it is a local folder)")


def config_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The RunConfig fields of these options."""
    return {
        "endpoint": args.endpoint,
        "api_key_env": args.api_key_env,
        "server_kind": args.server_kind,
        "concurrency": args.concurrency,
        "rates": args.rates,
        "slo": args.slo,
        "cache_bust": args.cache_bust,
        "hardware": args.hardware,
        "tokenizer": args.tokenizer,
        "new_connection_per_request": args.new_connection_per_request,
        "ca_bundle": args.ca_bundle,
    }
