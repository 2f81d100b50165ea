"""Run options are declared once (vlmbench.config, vlmbench.options): the flags of `vlmbench run`,
the suite keys and the checks all come from those declarations, and cannot drift from them."""

from __future__ import annotations

import argparse

import pytest

from vlmbench.backends import BACKENDS
from vlmbench.cli import run as run_cli_module
from vlmbench.config import RunConfig, option_models
from vlmbench.errors import UsageError
from vlmbench.options import BACKEND_OPTIONS, EndpointOptions, InProcessOptions
from vlmbench.options.declare import options_of
from vlmbench.runner.suite import suite_model

# The command-line interface as released: these names must not change.
RELEASED_FLAGS = {
    "--suite", "--resume", "--model", "--weights", "--backend", "--device", "--dtype", "--max-new-tokens",
    "--repeats", "--warmup", "--warmup-shapes", "--no-warmup-shapes", "--prompts", "--promptset", "--promptset-dir",
    "--batch-sizes", "--out", "--run-id", "--trust-remote-code", "--seed", "--attn", "--cache", "--compile",
    "--plugin", "--model-timeout", "--request-timeout", "--no-progress", "--endpoint", "--api-key-env",
    "--server-kind", "--concurrency", "--rate", "--slo", "--cache-bust", "--no-cache-bust",
    "--new-connection-per-request", "--ca-bundle", "--hardware", "--tokenizer", "--min-window-requests",
    "--window-seconds", "--images", "--cache-state", "--image-format", "--dataset", "--image-grid",
    "--images-per-request",
    # serving engines (issue 22)
    "--engine", "--engine-python", "--engine-arg", "--engine-start-timeout", "--engine-host", "--engine-port",
    "--engine-recipe", "--engines-dir",
}
RELEASED_SUITE_KEYS = {
    "name", "description", "models", "weights", "backend", "device", "dtype", "prompts", "promptset", "repeats",
    "warmup", "warmup_shapes", "max_new_tokens", "batch_sizes", "scenarios", "attn", "cache", "compile", "seed",
    "model_timeout_s", "request_timeout_s", "trust_remote_code", "images", "image_format", "images_per_request",
    "dataset", "image_grid", "cache_states",
    "engine",  # serving engines (issue 22): a name or {name, python, args, ...}
    "engines_dir",
}


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    run_cli_module.add_arguments(parser)
    return parser


def test_every_flag_is_a_declared_field_and_every_declared_field_a_flag():
    parser = _run_parser()
    actions = {flag: a for a in parser._actions for flag in a.option_strings if flag not in ("-h", "--help")}
    assert set(actions) >= RELEASED_FLAGS  # flags may be added, never renamed or removed
    declared = {name: opt for model in option_models() for name, _, opt in options_of(model)}
    for flag, action in actions.items():
        if flag in ("--suite", "--resume"):
            continue
        assert action.dest in declared, flag  # a flag sets exactly its field
        assert action.default is None, flag  # so only what is given overrides a suite
    assert {a.dest for a in actions.values()} >= set(declared)


def test_suite_keys_are_the_declared_suite_options():
    assert set(suite_model().model_fields) >= RELEASED_SUITE_KEYS


def test_every_backend_has_one_options_model_selected_by_its_name():
    assert set(BACKEND_OPTIONS) == set(BACKENDS)
    for name, model in BACKEND_OPTIONS.items():
        assert model().backend == name
    assert isinstance(RunConfig().options, InProcessOptions)
    assert isinstance(RunConfig(backend="openai").options, EndpointOptions)


def test_the_flat_form_round_trips_and_other_backends_options_are_refused():
    config = RunConfig(backend="openai", endpoint="http://127.0.0.1:9", concurrency=[2, 4], models=["m"])
    assert config.options.concurrency == [2, 4] and config.backend == "openai"
    assert config.concurrency == [2, 4] and config.cache_bust is True  # the backend's options read as the run's
    with pytest.raises(AttributeError):
        config.attn  # noqa: B018 - another backend's option is not there
    assert RunConfig.from_json(config.to_json()) == config
    assert "attn" not in config.to_json() and config.to_json()["endpoint"] == "http://127.0.0.1:9"
    with pytest.raises(UsageError, match=r"^--attn: only with --backend hf$"):
        RunConfig(backend="openai", attn="sdpa")
    with pytest.raises(UsageError, match=r"^--endpoint: only with --backend openai$"):
        RunConfig(endpoint="http://127.0.0.1:9")
    # changing the backend drops the options of the one before
    assert RunConfig(compile=True).replace(backend="openai").backend == "openai"


@pytest.mark.parametrize("given, message", [
    ({"repeats": 0}, "--repeats 0: must be at least 1"),
    ({"warmup": -1}, "--warmup -1: must be 0 or more"),
    ({"batch_sizes": [1, 0]}, "--batch-sizes [1, 0]: each must be at least 1"),
    ({"weights": "trained"}, "--weights 'trained': must be one of random, pretrained"),
    ({"request_timeout_s": 0.0}, "--request-timeout 0.0: must be more than 0 s"),
    ({"backend": "tpu"}, "--backend 'tpu': unknown backend (known: hf, openai, engine)"),
    ({"repeats": "three"}, "--repeats 'three': "),
])
def test_a_bad_value_is_one_line_naming_the_flag(given, message):
    with pytest.raises(UsageError) as caught:
        RunConfig(**given)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_per_model_values_are_checked_like_the_runs():
    config = RunConfig(models=["a", "b"], model_overrides={"b": {"repeats": 1, "cache": "static"}})
    assert config.for_model("b").repeats == 1 and config.for_model("b").options.cache == "static"
    assert config.for_model("a") is config
    bad = RunConfig(models=["a"], model_overrides={"a": {"repeats": 0}})
    with pytest.raises(UsageError, match="--repeats 0: must be at least 1"):
        bad.for_model("a")


def test_every_registered_backend_keeps_the_contract_of_the_base_class():
    """Each backend is its registry line's class, named as registered; every hook the runner
    calls is declared on the base class, so none is looked up by name or by hasattr."""
    from vlmbench.backends import backend_class, capabilities, manifest_facts
    from vlmbench.backends.base import Backend

    hooks = ("validate_config", "scenarios", "fallback_columns", "memory_plan", "load", "measure", "run_job",
             "release_memory", "close", "manifest_info", "capabilities")
    assert all(callable(getattr(Backend, hook)) for hook in hooks)
    for name in BACKENDS:
        cls = backend_class(name)
        assert issubclass(cls, Backend) and cls.name == name and cls.capabilities() == capabilities(name)
        own = cls.capabilities()
        # a backend that schedules its own job overrides run_job; one scheduled per cell, measure
        assert (cls.run_job is not Backend.run_job) == own.owns_scheduler
        assert (cls.measure is not Backend.measure) or own.owns_scheduler
        assert manifest_facts(name)["name"] == name
    assert capabilities(None) == capabilities("hf") and not capabilities("a-later-backend").in_process


def test_size_class_asks_the_backend_capabilities_not_its_name():
    from vlmbench.backends import capabilities
    from vlmbench.jobs.rows import size_class

    for name in BACKENDS:
        expected = "real" if capabilities(name).catalog_models else None
        assert size_class("tinyllava-1.4b", name) == expected
