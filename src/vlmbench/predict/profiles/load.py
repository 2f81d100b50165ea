"""``--profile NAME|PATH``: a built-in spec profile by name, or a profile JSON file."""

from __future__ import annotations

from pathlib import Path

from vlmbench.errors import UsageError
from vlmbench.predict.profiles.schema import Profile, read_profile
from vlmbench.predict.profiles.spec import SPEC_PROFILES, spec_profile


def load_profile(ref: str) -> Profile:
    key = ref.strip().lower()
    if key in SPEC_PROFILES:
        return spec_profile(key)
    if Path(ref).expanduser().exists() or ref.endswith(".json"):
        return read_profile(Path(ref).expanduser())
    raise UsageError(f"--profile {ref!r}: neither a profile file nor a built-in profile "
                     f"(built-in: {', '.join(sorted(SPEC_PROFILES))})")
