"""Device profiles: the figures the predictor divides by.

- ``schema``: the :class:`Profile` dataclass and its JSON file format (versioned);
- ``spec``: built-in spec-sheet profiles (dense peaks with their sources, default efficiency priors);
- :func:`load_profile`: a built-in name or a profile JSON file.
"""

from vlmbench.predict.profiles.schema import KINDS, Params, Profile, read_profile, write_profile
from vlmbench.predict.profiles.spec import SPEC_PROFILES, spec_profile
from vlmbench.predict.profiles.load import load_profile

__all__ = ["KINDS", "Params", "Profile", "read_profile", "write_profile", "SPEC_PROFILES", "spec_profile",
           "load_profile"]
