"""SLO attainment: the one definition the per-row ``slo_met`` column, the endpoint window's
``window_goodput_rps`` and the report's ``slo_met_fraction`` share.

A request **meets the SLO** only when it completed (``status=ok``) and every limit was
measured and held. A failed or timed-out request, and a completed one whose limited value
could not be measured (e.g. no TPOT for a one-chunk answer, no TTFT when no chunk carried
content), is a **miss**: leaving them out would overstate attainment exactly when a server is
overloaded and requests fail. So, with an SLO, every row's ``slo_met`` is true or false;
it is empty only when no SLO was given.

- ``slo_met_fraction`` = requests that met it / all requests judged against it
  (= all requests sent under the SLO, failures included);
- ``window_goodput_rps`` = requests that met it per second of the window's steady interval
  (:mod:`vlmbench.backends.openai.steady`).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional


def slo_verdict(limits: Mapping[str, float], values: Mapping[str, Optional[float]], completed: bool) -> bool:
    """True when the request completed and every limit ``name -> ms`` holds for
    ``values[name]``; False when it failed, a value is missing or a limit is exceeded."""
    if not completed:
        return False
    for name, limit in limits.items():
        value = values.get(name)
        if value is None or value > limit:
            return False
    return True


def _judged(verdict: object) -> bool:
    """Not empty: None, NaN and pandas' NA (what an empty cell reads as) are not judged."""
    if verdict is None:
        return False
    try:
        return not bool(verdict != verdict)  # NaN != NaN; NA != NA is NA and raises
    except TypeError:
        return False


def slo_met_count(verdicts: Iterable[object]) -> int:
    """Requests that met the SLO."""
    return sum(1 for v in verdicts if _judged(v) and bool(v))


def slo_met_fraction(verdicts: Iterable[object]) -> Optional[float]:
    """Share of requests that met the SLO among those judged against it. Empty entries (None,
    NaN, NA) are rows without an SLO and are not counted; with an SLO a failed request's
    verdict is False, so failures count as misses. None when no request was judged."""
    judged = [bool(v) for v in verdicts if _judged(v)]
    return sum(judged) / len(judged) if judged else None
