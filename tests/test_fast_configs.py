"""Fast configurations: --attn, --cache, --compile run, and rows and manifest record what
really ran (read back from the model and from generate's output), not what was asked."""

from __future__ import annotations

import pytest
import torch

from vlmbench.backends.base import ModelSpec
from vlmbench.backends.hf.backend import HFBackend
from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.measure.stack import decode_compiled
from vlmbench.promptset import load_promptset
from vlmbench.results.reader import read_rows
from vlmbench.runner import run_benchmark
from vlmbench.results.manifest import read_manifest
from vlmbench.runner.validate import validate

from conftest import TINY, few_prompt_ids, run_cli

pytestmark = pytest.mark.slow  # real tiny runs through the runner and the backend
N_OUT = 3


def _run(tmp_path_factory, **settings):
    config = RunConfig(models=[TINY], max_new_tokens=N_OUT, repeats=1, warmup=0, prompts=few_prompt_ids(2),
                       out=tmp_path_factory.mktemp("fast"), progress=False, **settings)
    result = run_benchmark(config)
    rows = read_rows(result.requests_csv)
    assert {r["status"] for r in rows} == {"ok"}, [r["error"] for r in rows]
    return rows, read_manifest(result.run_dir)["models"][TINY]


@pytest.fixture(scope="module")
def eager_static(tmp_path_factory):
    return _run(tmp_path_factory, attn="eager", cache="static")


@pytest.fixture(scope="module")
def sdpa_dynamic(tmp_path_factory):
    return _run(tmp_path_factory, attn="sdpa", cache="dynamic")


def test_eager_attention_with_a_static_cache(eager_static):
    rows, facts = eager_static
    assert all(r["attn"] == "eager" and r["cache"] == "static" and r["compile"] is False for r in rows)
    assert all(r["n_output_tokens"] == N_OUT for r in rows)
    generation = facts["generation"]
    assert generation["attn"] == "eager" and generation["cache_implementation"] == "static"
    # one cache length for the whole run: the longest prompt plus the output
    assert generation["static_cache_len"] == max(r["n_prompt_tokens"] for r in rows) + N_OUT


def test_sdpa_attention_with_a_dynamic_cache(sdpa_dynamic):
    rows, facts = sdpa_dynamic
    assert all(r["attn"] == "sdpa" and r["cache"] == "dynamic" and r["compile"] is False for r in rows)
    assert facts["generation"]["attn"] == "sdpa" and facts["generation"]["static_cache_len"] is None


def test_default_attention_is_recorded_as_resolved(tiny_run):
    rows = read_rows(tiny_run.requests_csv)
    assert {r["attn"] for r in rows} == {"sdpa"}  # transformers' choice for LLaVA when none is asked
    assert read_manifest(tiny_run.run_dir)["models"][TINY]["generation"]["attn_requested"] is None


def test_compile_uses_a_static_cache_and_compiles_the_decode_step():
    """--compile through the real backend and generate. Inductor's code generation takes minutes
    on this 2-core machine, so the device's CompileConfig is kept except its backend, set to
    dynamo's "eager": the graph capture that decides whether transformers compiled the decode
    step is the same; only the code generated from the graph differs."""
    config = RunConfig(models=[TINY], compile=True, prompts=few_prompt_ids(1), max_new_tokens=N_OUT)
    backend = HFBackend(config, ModelSpec(TINY, "random"))
    constants = backend.load()
    try:
        assert constants["cache"] == "static" and constants["compile"] is True
        info = backend.manifest_info()["generation"]
        assert info["compile_requested"] is True and info["cache_implementation"] == "static"
        assert info["compile_config"]["mode"] == "default"  # CPU: no CUDA graphs
        assert not decode_compiled(backend.loaded.model)
        backend.compile_config.backend = "eager"
        item = load_promptset(ids=few_prompt_ids(1)).items[0]
        (row,) = backend.measure([item], N_OUT)
        assert row["compile"] is True and row["cache"] == "static" and row["n_output_tokens"] == N_OUT
        assert decode_compiled(backend.loaded.model)
    finally:
        torch._dynamo.reset()
        backend.close()


def test_flash_attention_without_a_gpu_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"^--attn flash_attention_2 on --device cpu: needs an NVIDIA GPU"):
        validate(RunConfig(models=[TINY], attn="flash_attention_2", out=tmp_path))
    done = run_cli("run", "--model", TINY, "--attn", "flash_attention_2", "--out", str(tmp_path), "--no-progress")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "flash_attention_2" in done.stderr
    assert not any(tmp_path.iterdir())  # nothing was written


@pytest.mark.parametrize("settings, message", [
    ({"attn": "flash"}, r"^--attn 'flash': must be one of eager, sdpa, flash_attention_2$"),
    ({"cache": "paged"}, r"^--cache 'paged': must be one of dynamic, static$"),
])
def test_unknown_settings_are_usage_errors(settings, message, tmp_path):
    with pytest.raises(UsageError, match=message):
        validate(RunConfig(models=[TINY], out=tmp_path, **settings))
