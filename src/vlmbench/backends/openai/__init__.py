"""OpenAI-compatible HTTP endpoints (vLLM, SGLang, TGI, Ollama, llama.cpp, ``transformers
serve``, hosted APIs) benchmarked with streaming chat completions.

Modules, one job each:

- ``endpoint``      the ``--endpoint`` URL, parsed (``host:port`` label for rows)
- ``session``       the aiohttp session: keep-alive pool, TLS, proxies, send/connect instants
- ``http_errors``   aiohttp exceptions -> error categories
- ``sse``           incremental Server-Sent Events parser
- ``chat_stream``   content events, usage and finish of one ``chat.completion.chunk`` stream
- ``client``        one request end to end; stream_options fallback; timeout; error categories
- ``errors``        the error categories rows carry
- ``server_kinds``  per-server length enforcement and ``auto`` detection
- ``images``        data URLs and imperceptible per-request image changes (cache busting)
- ``request``       request bodies, built before the timed region
- ``load``          sequential, closed-loop concurrency and Poisson arrivals
- ``window``        runs one load window
- ``metrics``       endpoint metric classes, SLO, window throughput
- ``columns``       outcomes -> schema columns
- ``backend``       the Backend: validation, scenarios, load, run_job
"""
