"""vlmbench's endpoint client against vLLM's own ``bench serve`` on the same vLLM server (issue 22).

One vLLM engine (the engine environment of ``vlmbench engine install vllm``; the tiny catalog LLaVA with
64-wide heads and dummy weights, started with the packaged recipe: caches off), then interleaved rounds:
``vlmbench run --backend openai`` and ``vllm bench serve`` (``openai-chat``, ``custom_image`` dataset
with the same images and prompts, same output length with ``--ignore-eos``, concurrency 1), alternating
which goes first. Neither client sends ``allowed_token_ids``, so the stream holds chunks with empty text:
vlmbench's token-exact timing (per-chunk usage) must agree with vLLM's definitions.

Prints per round the two medians of TTFT and TPOT and their ratio, and the median ratio over rounds;
PASS when both median ratios are within 10 %. Run it alone (``flock /tmp/vlmbench-bigmem.lock``):

    PYTHONPATH=src python bench/engine_vs_peer.py [--rounds 5] [--requests 8] [--tokens 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "llava-1.5-7b-tiny-hd64"
PROMPTS = ["chart-bar-640x480", "photo-cat-451x300", "diagram-shapes-336x336", "chart-pie-672x672"]


def start_engine(work: Path):
    from vlmbench.catalog import get
    from vlmbench.engines import get_engine, recipes
    from vlmbench.engines.base import LaunchSpec
    from vlmbench.engines.export import export_folder
    from vlmbench.engines.install import engines_dir, venv_python
    from vlmbench.engines.process import EngineProcess, free_port

    engine = get_engine("vllm")
    entry = get(MODEL)
    folder = export_folder(entry, engines_dir() / "models", engine, "cpu")
    python = venv_python("vllm")
    recipe = recipes.resolve(recipes.find("vllm", "llava"), "cpu", python.parent.parent / "lib")
    port = free_port()
    # bench serve's custom_image dataset sends the images as local file URLs
    spec = LaunchSpec(folder, MODEL, "127.0.0.1", port, "cpu", "auto", True, recipe.args,
                      ("--allowed-local-media-path", str(work)))
    launch = engine.launch(spec, str(python))
    log = Path(tempfile.gettempdir()) / "engine_vs_peer-engine.log"
    proc = EngineProcess(launch.argv, {**recipe.env, **launch.env}, log, f"http://127.0.0.1:{port}")
    proc.start()
    proc.wait_ready(1200)
    return proc, python, folder


def dataset(work: Path) -> Path:
    from vlmbench.promptset import load_promptset

    lines = []
    for item in load_promptset(ids=PROMPTS):
        image = work / f"{item.id}.{item.format}"
        image.write_bytes(item.image_bytes)
        lines.append(json.dumps({"prompt": item.prompt, "image_files": [str(image)]}))
    path = work / "custom_image.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_vlmbench(url: str, work: Path, n: int, tokens: int, tag: str) -> tuple[float, float]:
    from vlmbench.results.reader import read_rows

    out = work / f"vlmbench-{tag}"
    repeats = max(1, n // len(PROMPTS))
    cmd = [sys.executable, "-m", "vlmbench", "run", "--backend", "openai", "--endpoint", url, "--model", MODEL,
           "--server-kind", "vllm", "--max-new-tokens", str(tokens), "--repeats", str(repeats), "--warmup", "1",
           "--prompts", ",".join(PROMPTS), "--no-cache-bust", "--out", str(out), "--no-progress"]
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    rows = [r for r in read_rows(next(out.glob("*/requests.csv"))) if r["status"] == "ok" and not r["cold"]]
    # tpot_ms is empty where every token came in one network read (no decode interval seen): left out
    return (statistics.median(r["ttft_ms"] for r in rows),
            statistics.median(r["tpot_ms"] for r in rows if r["tpot_ms"] is not None))


def run_vllm_bench(python: Path, url: str, folder: Path, data: Path, work: Path, n: int, tokens: int,
                   tag: str) -> tuple[float, float]:
    result = work / f"vllm-{tag}.json"
    code = ("import argparse, sys; from vllm.benchmarks.serve import add_cli_args, main; "
            "p = argparse.ArgumentParser(); add_cli_args(p); main(p.parse_args(sys.argv[1:]))")
    cmd = [str(python), "-c", code, "--backend", "openai-chat", "--base-url", url, "--endpoint", "/v1/chat/completions",
           "--model", MODEL, "--tokenizer", str(folder), "--dataset-name", "custom_image", "--dataset-path", str(data),
           "--custom-output-len", str(tokens), "--ignore-eos", "--max-concurrency", "1", "--num-prompts", str(n),
           "--num-warmups", "1", "--save-result", "--result-dir", str(work), "--result-filename", result.name]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"vllm bench serve failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    data_out = json.loads(result.read_text())
    if not data_out.get("completed"):
        errors = [e for e in data_out.get("errors", []) if e][:2]
        raise SystemExit(f"vllm bench serve completed no request: {errors or proc.stdout[-1500:]}")
    return float(data_out["median_ttft_ms"]), float(data_out["median_tpot_ms"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=8, help="measured requests per client per round")
    ap.add_argument("--tokens", type=int, default=32)
    args = ap.parse_args()
    print(f"load: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        proc, python, folder = start_engine(work)
        print(f"engine ready after {time.monotonic() - t0:.0f} s")
        try:
            data = dataset(work)
            ratios_ttft, ratios_tpot = [], []
            print(f"{'round':>5} {'first':>8} {'vlmbench TTFT':>14} {'vLLM TTFT':>10} {'ratio':>6} "
                  f"{'vlmbench TPOT':>14} {'vLLM TPOT':>10} {'ratio':>6}")
            for r in range(args.rounds):
                order = ["vlmbench", "vllm"] if r % 2 == 0 else ["vllm", "vlmbench"]
                got = {}
                for who in order:
                    if who == "vlmbench":
                        got[who] = run_vlmbench(proc.base_url, work, args.requests, args.tokens, str(r))
                    else:
                        got[who] = run_vllm_bench(python, proc.base_url, folder, data, work, args.requests,
                                                  args.tokens, str(r))
                (vt, vp), (pt, pp) = got["vlmbench"], got["vllm"]
                ratios_ttft.append(vt / pt)
                ratios_tpot.append(vp / pp)
                print(f"{r:>5} {order[0]:>8} {vt:>14.1f} {pt:>10.1f} {vt / pt:>6.3f} {vp:>14.2f} {pp:>10.2f} "
                      f"{vp / pp:>6.3f}", flush=True)
        finally:
            proc.stop()
    mt, mp = statistics.median(ratios_ttft), statistics.median(ratios_tpot)
    ok = abs(mt - 1) <= 0.10 and abs(mp - 1) <= 0.10
    print(f"median ratio vlmbench/vLLM: TTFT {mt:.3f}, TPOT {mp:.3f} -> {'PASS' if ok else 'FAIL'} (within 10 %)")
    print(f"load: {os.getloadavg()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
