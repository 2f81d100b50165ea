"""``vlmbench calibrate``: a device profile for the predictor.

``--device cpu|cuda[:N] -o PROFILE.json``: micro-benchmarks (under a minute);
``--profile P.json --runs RUN_DIR... -o P2.json``: fit P's interpretable parameters to measured rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vlmbench.errors import UsageError

NAME = "calibrate"
HELP = "device profile for `vlmbench predict`: micro-benchmarks (--device) or a fit to measured rows (--runs)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="micro-benchmark this device: cpu, cuda or cuda:N")
    p.add_argument("--profile", default=None, metavar="PROFILE|NAME",
                   help="starting profile (a JSON file or a built-in name such as h100) for --runs")
    p.add_argument("--runs", nargs="+", default=None, metavar="RUN_DIR",
                   help="run folders whose measured rows the parameters are fitted to")
    p.add_argument("-o", "--output", required=True, metavar="PROFILE.json", help="profile file to write")
    p.add_argument("--quick", action="store_true",
                   help="fewer, smaller micro-benchmarks (seconds; for tests, less accurate)")


def execute(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if args.device and args.runs:
        raise UsageError("--device and --runs: give one (micro-benchmarks, or a fit to measured rows)")
    if args.device:
        return _micro(args.device, out, args.quick)
    if args.runs:
        if not args.profile:
            raise UsageError("--runs needs --profile (the profile whose parameters are fitted)")
        return _fit(args.profile, args.runs, out)
    raise UsageError("give --device DEVICE (micro-benchmarks) or --profile P --runs RUN_DIR... (fit)")


def _micro(device: str, out: Path, quick: bool) -> int:
    import torch

    from vlmbench.predict.microbench import calibrate_device
    from vlmbench.predict.profiles import write_profile

    dev = device.strip().lower()
    if not (dev == "cpu" or dev == "cuda" or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise UsageError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device!r}: CUDA is not available on this machine")
    if dev.startswith("cuda:") and int(dev[5:]) >= torch.cuda.device_count():
        raise UsageError(f"--device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    profile = calibrate_device(dev, quick=quick)
    write_profile(profile, out)
    print(f"wrote {out}: {profile.device}, bandwidth {profile.bandwidth_bytes_per_s / 1e9:.1f} GB/s, "
          f"GEMM peak {max(profile.peak_flops_per_s.values()) / 1e9:.1f} GFLOP/s, launch {profile.launch_us:.1f} us, "
          f"step {profile.step_overhead_ms:.2f} ms ({profile.fingerprint.get('calibrate_seconds')} s)")
    return 0


def _fit(profile_ref: str, runs: list[str], out: Path) -> int:
    from vlmbench.predict.fit import calibrate_on_rows, samples
    from vlmbench.predict.intervals import lomo_intervals
    from vlmbench.predict.measured import load_rows
    from vlmbench.predict.predictor import CountCache
    from vlmbench.predict.profiles import Profile, load_profile, write_profile

    start = load_profile(profile_ref)
    rows = load_rows(runs)
    if not rows:
        raise UsageError(f"--runs {' '.join(runs)}: no usable measured rows (ok, in-process, catalog models)")
    cache = CountCache()
    profile = calibrate_on_rows(start, rows, runs, cache)
    base = Profile.from_json(profile.base) if profile.base else start
    profile.interval, profile.interval_basis = lomo_intervals(base, samples(rows, cache))
    write_profile(profile, out)
    p = profile.params
    print(f"wrote {out}: fitted to {len(rows)} rows of {len({r['model_id'] for r in rows})} models; "
          f"gemm x{p.gemm:.2f} gemv x{p.gemv:.2f} attention x{p.attention:.2f} bandwidth x{p.bandwidth:.2f} dispatch x{p.dispatch:.2f} "
          f"vision x{p.vision:.2f} host x{p.host:.2f} step {p.step_ms:+.1f} ms memory {p.memory_overhead_mb:+.0f} MB")
    return 0
