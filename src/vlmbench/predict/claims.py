"""What a prediction claims, in the words every output uses (CLI table, predictions.csv, the
site, ``--validate``): whether the predictor was validated (held out by model on the same
machine, or not at all) and the level of its intervals."""

from __future__ import annotations

from vlmbench.predict.profiles.schema import HELD_OUT_LEVEL, STAGES, Profile

HELD_OUT = "held out by model, same machine"
UNVALIDATED = "unvalidated"
PRIOR = "prior, coverage unknown"


def interval_claim(profile: Profile) -> str:
    """The level of the profile's intervals, in words: e.g. "80 % interval from held-out models on
    this machine (7 models); preprocess: prior, coverage unknown", or "prior, coverage unknown"."""
    basis = profile.interval_basis or {}
    held = [s for s in STAGES if s in (basis.get("stages") or [])]
    if not held:
        return PRIOR
    level = round(100 * float(basis.get("level", HELD_OUT_LEVEL)))
    text = f"{level} % interval from held-out models on this machine ({basis.get('models')} models)"
    rest = [s for s in STAGES if s not in held and s in profile.interval]
    return text + (f"; {', '.join(rest)}: {PRIOR}" if rest else "")


def validation_claim(profile: Profile) -> str:
    """``held out by model, same machine`` for a profile whose intervals come from held-out models;
    ``unvalidated`` otherwise (spec sheet, micro-benchmarks only, calibration on < 3 models)."""
    return HELD_OUT if (profile.interval_basis or {}).get("stages") else UNVALIDATED
