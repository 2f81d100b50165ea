"""The user-facing columns against known truth, not against the code's own sums.

``ttft_user_ms`` is computed as ``preprocess_ms + ttft_ms`` and ``decode_tps`` as
``1000 / tpot_ms``; checking them against that same arithmetic proves nothing. Here a tiny LLaVA
whose processor takes a known time and whose model follows a known schedule
(``plugins/known_time_models.py``, ``known-preprocess-tiny``) runs through the real runner, and
each column is held to the schedule: the sleeps are the truth.
"""

from __future__ import annotations

import pytest

from vlmbench.config import RunConfig
from vlmbench.results.reader import read_rows
from vlmbench.runner import run_benchmark

from conftest import few_prompt_ids
from plugins import known_time_models as known

pytestmark = pytest.mark.slow
N_OUT = 4
TOLERANCE = 0.05
# Opening and decoding the image file happens before the (paced) processor call and is timed
# with it: allow it on top of the schedule, from above only.
IMAGE_OPEN_MS = 60.0


@pytest.fixture(scope="module")
def warm_rows(tmp_path_factory):
    config = RunConfig(models=["known-preprocess-tiny"], plugins=["plugins.known_time_models"], max_new_tokens=N_OUT,
                       repeats=2, warmup=1, prompts=few_prompt_ids(1), out=tmp_path_factory.mktemp("user"),
                       progress=False)
    rows = read_rows(run_benchmark(config).requests_csv)
    assert {r["status"] for r in rows} == {"ok"}, [r["error"] for r in rows]
    assert all(r["n_output_tokens"] == N_OUT for r in rows)
    warm = [r for r in rows if not r["cold"]]  # the cold request carries first-call costs
    assert len(warm) == 1
    return warm


def test_preprocess_time_is_the_processor_schedule(warm_rows):
    truth = known.PREPROCESS_S * 1000.0
    for r in warm_rows:
        assert truth * (1 - TOLERANCE) < r["preprocess_ms"] < truth * (1 + TOLERANCE) + IMAGE_OPEN_MS, r["preprocess_ms"]


def test_user_ttft_is_preprocessing_plus_vision_plus_prefill_of_the_schedule(warm_rows):
    truth = (known.PREPROCESS_S + known.VISION_S + known.PREFILL_S) * 1000.0
    for r in warm_rows:
        assert truth * (1 - TOLERANCE) < r["ttft_user_ms"] < truth * (1 + TOLERANCE) + IMAGE_OPEN_MS, r["ttft_user_ms"]
        # and the model's own TTFT leaves the preprocessing out
        model_truth = (known.VISION_S + known.PREFILL_S) * 1000.0
        assert r["ttft_ms"] == pytest.approx(model_truth, rel=TOLERANCE)


def test_decode_speed_is_one_token_per_decode_step(warm_rows):
    for r in warm_rows:
        assert r["decode_tps"] == pytest.approx(1.0 / known.DECODE_S, rel=TOLERANCE)
        assert r["e2e_ms"] == pytest.approx(
            (known.VISION_S + known.PREFILL_S + (N_OUT - 1) * known.DECODE_S) * 1000.0, rel=TOLERANCE)
