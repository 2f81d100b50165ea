"""Progress bar on stderr (tqdm), advanced once per row written."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    def __init__(self, total: int, enabled: bool = True) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="req", file=sys.stderr, disable=not enabled,
                         dynamic_ncols=True, leave=True)
        self._failed = 0

    def set_model(self, model_id: str) -> None:
        self._bar.set_description(model_id)

    def advance(self, row: dict[str, Any]) -> None:
        if row.get("status") != "ok":
            self._failed += 1
            self._bar.set_postfix(failed=self._failed)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
