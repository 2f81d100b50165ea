"""One real-size catalog entry through vLLM (``vlmbench run --engine vllm``) side by side with the in-process
path (``vlmbench run``, transformers' ``generate``) on the same entry, dtype and prompts (issue 22).

Interleaved rounds, the order alternating (in-process, vLLM | vLLM, in-process | ...); each round holds
``--lock`` (default /tmp/vlmbench-bigmem.lock, the machine's timing lock) for its two runs. Both paths use
dummy (random) weights of the entry's real shapes, the same output length (length enforced), warmup 1.
Per round and path, at concurrency 1 and 4:

- TTFT: median ``ttft_user_ms``, the column comparable across backends (in-process: preprocessing + TTFT;
  vLLM: request sent -> first token, the server's preprocessing included; see METRICS.md);
- TPOT: median ``tpot_ms`` (decode tokens only, both);
- tokens/s: median ``window_output_tps`` (in-process: a batch's tokens over its ``generate`` call; vLLM: the
  load window's steady interval).

"Concurrency 4" is what each path offers for four users: in-process, a batch of 4 (one ``generate`` call over
four images; transformers has no continuous batching), vLLM, a closed loop with 4 requests in flight.
Prints and writes (``--csv``, ``--markdown``) the rounds and the medians over rounds of the vLLM / in-process
ratios. The vLLM engine starts anew in each round (``--engine vllm`` starts and stops it); its start is not
timed.

    PYTHONPATH=src python bench/engine_vs_inprocess.py [--model smolvlm2-256m] [--dtype bfloat16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine_vs_peer import LOCK, PROMPTS, held, load

METRICS = (("ttft", "ttft_user_ms"), ("tpot", "tpot_ms"), ("tps", "window_output_tps"))


def run(path: str, model: str, dtype: str, tokens: int, repeats: int, out: Path, prompts: list[str],
        window: int) -> dict[int, dict]:
    """One ``vlmbench run`` on ``path`` (inprocess | vllm); medians per concurrency (1, 4)."""
    from vlmbench.results.reader import read_rows

    common = ["--model", model, "--dtype", dtype, "--max-new-tokens", str(tokens), "--repeats", str(repeats),
              "--warmup", "1", "--prompts", ",".join(prompts), "--out", str(out), "--no-progress"]
    if path == "inprocess":
        cmd = ["run", "--weights", "random", "--batch-sizes", "1,4", *common]
    else:
        cmd = ["run", "--engine", "vllm", "--concurrency", "1,4", "--min-window-requests", str(window), *common]
    proc = subprocess.run([sys.executable, "-m", "vlmbench", *cmd], capture_output=True, text=True,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if proc.returncode != 0:
        raise SystemExit(f"vlmbench {' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    every = read_rows(next(out.glob("*/requests.csv")))
    # the cold row (first measured request after the warmups) counts, as in engine_vs_peer: each path's medians
    # are over the same prompts in the same numbers (TTFT differs by prompt)
    rows = [r for r in every if r["status"] == "ok" and not r.get("window_edge")]
    got = {}
    for c in (1, 4):
        def at(r):
            return r["batch_size"] == c if path == "inprocess" else (r.get("concurrency") or 1) == c

        sel = [r for r in rows if at(r)]
        if not sel:
            seen = sorted({(r["status"], r["cold"], r.get("window_edge"), str(r.get("error"))[:200])
                           for r in every if at(r)})
            raise SystemExit(f"{path}: no ok rows at concurrency {c} (status, cold, edge, error: {seen})")
        figures = {}
        for name, col in METRICS:
            values = [r[col] for r in sel if r.get(col) is not None]
            if name == "tps":  # one value per window
                values = list({r["window_id"]: r[col] for r in sel if r.get(col) is not None}.values())
            figures[name] = statistics.median(values) if values else float("nan")
        figures["n"] = len(sel)
        figures["tokens"] = statistics.median(r["n_output_tokens"] for r in sel)
        got[c] = figures
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smolvlm2-256m")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2, help="measured repeats of each prompt")
    ap.add_argument("--prompts", default=",".join(PROMPTS), help="prompt ids (default: engine_vs_peer's four)")
    ap.add_argument("--min-window-requests", type=int, default=40,
                    help="vLLM's concurrency-4 window: at least this many requests (vlmbench's default 10 x C)")
    ap.add_argument("--lock", default=LOCK, help="flock held per round ('' for none)")
    ap.add_argument("--csv", type=Path, help="write the rounds here")
    ap.add_argument("--markdown", type=Path, help="write the rounds and the median ratios as a markdown table")
    args = ap.parse_args()
    prompts = args.prompts.split(",")
    print(f"{args.model} ({args.dtype}), {args.tokens} tokens, prompts {','.join(prompts)} x {args.repeats}; "
          f"load {load()}", flush=True)
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ["inprocess", "vllm"] if r % 2 == 0 else ["vllm", "inprocess"]
            got = {}
            with held(args.lock):
                before = load()
                t0 = time.monotonic()
                for path in order:
                    got[path] = run(path, args.model, args.dtype, args.tokens, args.repeats, Path(tmp) / f"{path}-{r}",
                                    prompts, args.min_window_requests)
                after = load()
            for c in (1, 4):
                rec = {"round": r, "first": order[0], "concurrency": c}
                for path in ("inprocess", "vllm"):
                    for name, _ in METRICS:
                        rec[f"{name}_{path}"] = got[path][c][name]
                    rec[f"rows_{path}"] = got[path][c]["n"]
                for name, _ in METRICS:
                    rec[f"{name}_ratio"] = rec[f"{name}_vllm"] / rec[f"{name}_inprocess"]
                rec.update(load_before=before, load_after=after, round_s=round(time.monotonic() - t0))
                records.append(rec)
                print(f"round {r} ({order[0]} first) c{c}: TTFT in-process {rec['ttft_inprocess']:.0f} / vLLM "
                      f"{rec['ttft_vllm']:.0f} ms ({rec['ttft_ratio']:.2f}x), TPOT {rec['tpot_inprocess']:.1f} / "
                      f"{rec['tpot_vllm']:.1f} ms ({rec['tpot_ratio']:.2f}x), tokens/s {rec['tps_inprocess']:.1f} / "
                      f"{rec['tps_vllm']:.1f} ({rec['tps_ratio']:.2f}x); load {before} -> {after}", flush=True)
    summary = []
    for c in (1, 4):
        sel = [rec for rec in records if rec["concurrency"] == c]
        med = {name: statistics.median(rec[f"{name}_ratio"] for rec in sel) for name, _ in METRICS}
        summary.append((c, med))
        print(f"c{c}: median ratio vLLM / in-process over {len(sel)} rounds: TTFT {med['ttft']:.2f}x, "
              f"TPOT {med['tpot']:.2f}x, tokens/s {med['tps']:.2f}x")
    print(f"load {load()}")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    if args.markdown:
        lines = [f"{args.model} ({args.dtype}), {args.tokens} output tokens, prompts {', '.join(prompts)} x "
                 f"{args.repeats}, dummy weights; vLLM concurrency-4 windows of {args.min_window_requests} requests",
                 "", "| round | first | c | TTFT in-proc ms | TTFT vLLM ms | ratio | TPOT in-proc ms | TPOT vLLM ms | "
                 "ratio | tok/s in-proc | tok/s vLLM | ratio | load (1 min) |", "|" + "---|" * 13]
        for rec in records:
            lines.append(f"| {rec['round']} | {rec['first']} | {rec['concurrency']} | {rec['ttft_inprocess']:.0f} | "
                         f"{rec['ttft_vllm']:.0f} | {rec['ttft_ratio']:.2f} | {rec['tpot_inprocess']:.1f} | "
                         f"{rec['tpot_vllm']:.1f} | {rec['tpot_ratio']:.2f} | {rec['tps_inprocess']:.1f} | "
                         f"{rec['tps_vllm']:.1f} | {rec['tps_ratio']:.2f} | {rec['load_before'].split()[0]} -> "
                         f"{rec['load_after'].split()[0]} |")
        lines.append("")
        for c, med in summary:
            lines.append(f"- concurrency {c}: median vLLM / in-process TTFT {med['ttft']:.2f}x, TPOT {med['tpot']:.2f}x, "
                         f"tokens/s {med['tps']:.2f}x")
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
