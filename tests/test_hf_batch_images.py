"""In-process batches: each prompt of a batch gets its own image (issue 22, found measuring SmolVLM2 at batch 4).

A flat list of a batch's images is ONE prompt's images to SmolVLM's, Idefics3's and Gemma 3's processors, which
then refuse the batch ("Found [1, 1] <image> tokens and [2] images per sample"); the backend passes one list
per prompt, which every processor reads. Real tiny models through the real runner.
"""

from __future__ import annotations

import pytest


@pytest.mark.slow  # runs the runner
@pytest.mark.parametrize("model_id", ["smolvlm2-256m-tiny", "gemma-3-4b-tiny", "llava-1.5-7b-tiny"])
def test_a_batch_of_two_gives_each_prompt_its_own_image(tmp_path, model_id):
    from vlmbench.config import RunConfig
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark

    prompts = ["chart-bar-640x480", "diagram-shapes-336x336"]  # sizes that tile differently
    config = RunConfig(models=[model_id], batch_sizes=[1, 2], max_new_tokens=2, repeats=1, warmup=0,
                       prompts=prompts, out=tmp_path, progress=False)
    rows = read_rows(run_benchmark(config).requests_csv)
    assert {r["batch_size"] for r in rows} == {1, 2}
    for r in rows:
        assert r["status"] == "ok", r.get("error")
        assert r["n_output_tokens"] == 2
    alone = {r["prompt_id"]: r["n_image_tokens"] for r in rows if r["batch_size"] == 1}
    together = {r["prompt_id"]: r["n_image_tokens"] for r in rows if r["batch_size"] == 2}
    assert set(together) == set(prompts)
    assert together == alone  # each prompt's own image, expanded as when it is sent alone
    assert all(n > 0 for n in alone.values())
