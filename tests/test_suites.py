"""Suite files: built-ins load; malformed files give one line naming file:line and the key, exit 2."""

from __future__ import annotations

import pytest

from vlmbench.cli import main
from vlmbench.config import RunConfig
from vlmbench.runner.suite import builtin_suites, load_suite, resolve_suite

GOOD = """\
name: mine
models:
  - llava-1.5-7b-tiny
device: cpu
repeats: 2
scenarios:
  - {batch_sizes: [1, 2], max_new_tokens: 8}
"""


def test_builtin_suites_load_and_name_real_models():
    names = {name for name, _, _ in builtin_suites()}
    assert {"default", "seed"} <= names
    for name in ("default", "seed"):
        config = load_suite(resolve_suite(name))
        assert config.models and config.suite == name
    default = load_suite(resolve_suite("default"))
    # the tiny variant of every seed system, two of today's VLMs on six prompts, plus exactly one
    # real-size model on fewer prompts
    tiny = [m for m in default.models if m.endswith("-tiny")]
    assert len(tiny) == 15 and default.device == "cpu" and default.prompts is None  # all 18 prompts
    for current in ("qwen2.5-vl-3b-tiny", "internvl3.5-1b-tiny"):
        assert current in tiny and len(default.for_model(current).prompts) == 6
    assert [m for m in default.models if m not in tiny] == ["tinyllava-1.4b"]
    real = default.for_model("tinyllava-1.4b")
    assert 1 <= len(real.prompts) < 18 and real.repeats <= default.repeats
    assert default.for_model(tiny[0]) is default
    seed = load_suite(resolve_suite("seed"))
    assert not any(m.endswith("-tiny") for m in seed.models)


def test_a_good_suite_becomes_a_run_config(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    config = load_suite(path, base=RunConfig())
    assert config.models == ["llava-1.5-7b-tiny"] and config.repeats == 2
    assert config.scenarios == [[1, 8], [2, 8]]


@pytest.mark.parametrize(
    "text, line, key, problem",
    [
        (GOOD + "colour: blue\n", 8, "colour", "unknown key"),
        (GOOD.replace("repeats: 2", "repeats: two"), 5, "repeats", "expected int, got str 'two'"),
        (GOOD.replace("  - llava-1.5-7b-tiny", "  - llava-1.5-7b-tiny\n  - no-such-model"), 4, "models",
         "unknown catalog id 'no-such-model'"),
        (GOOD.replace("max_new_tokens: 8", "max_new_tokens: [8]"), 7, "scenarios.max_new_tokens", "expected int"),
        (GOOD.replace("device: cpu", "device: [cpu]"), 4, "device", "expected str"),
        (GOOD.replace("  - llava-1.5-7b-tiny", "  - {id: llava-1.5-7b-tiny, colour: blue}"), 3, "models.colour",
         "not a per-model key"),
        (GOOD.replace("  - llava-1.5-7b-tiny", "  - {id: llava-1.5-7b-tiny, repeats: 0}"), 3, "models.repeats",
         "must be at least 1"),
        (GOOD.replace("  - llava-1.5-7b-tiny", "  - {repeats: 1}"), 3, "models.id", "missing"),
        (GOOD.replace("  - llava-1.5-7b-tiny", "  - {id: no-such-model, repeats: 1}"), 3, "models",
         "unknown catalog id 'no-such-model'"),
    ],
)
def test_malformed_suite_is_one_line_with_file_line_key_and_exit_2(tmp_path, capsys, text, line, key, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code = main(["run", "--suite", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{path}:{line}: key {key!r}" in err and problem in err
    assert not (tmp_path / "out").exists()


def test_a_per_model_mapping_overrides_that_model_only(tmp_path):
    from vlmbench.runner.plan import plan

    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace("  - llava-1.5-7b-tiny", "  - llava-1.5-7b-tiny\n"
                                 "  - {id: tinyllava-3.1b-tiny, prompts: [chart-bar-640x480], repeats: 1, dtype: float32}"))
    config = load_suite(path, base=RunConfig())
    assert config.models == ["llava-1.5-7b-tiny", "tinyllava-3.1b-tiny"]
    assert config.for_model("tinyllava-3.1b-tiny").dtype == "float32" and config.dtype == "auto"
    jobs = {j.spec.model: j for j in plan(config, ["photo-cat-451x300", "chart-bar-640x480"])}
    assert jobs["llava-1.5-7b-tiny"].n_rows == 2 * 2 * 2  # 2 prompts x 2 repeats x batch sizes 1 and 2
    own = jobs["tinyllava-3.1b-tiny"].cells  # 1 prompt x 1 repeat, batch 1 and 2
    assert [(c.prompt_ids[0], len(c.prompt_ids), c.repeat) for c in own] == [("chart-bar-640x480", 1, 0),
                                                                             ("chart-bar-640x480", 2, 0)]
    again = RunConfig.from_json(config.to_json())  # what --resume reads back from manifest.json
    assert again.for_model("tinyllava-3.1b-tiny").repeats == 1


def test_suites_command_lists_builtins(capsys):
    assert main(["suites"]) == 0
    out = capsys.readouterr().out
    assert "default" in out and "seed" in out


def test_size_class_of_rows_comes_from_the_catalog():
    from vlmbench.jobs.rows import size_class

    assert size_class("tinyllava-1.4b", "hf") == "real"
    assert size_class("tinyllava-3.1b-tiny", "hf") == "tiny"
    assert size_class("tinyllava-1.4b", "openai") is None  # an endpoint: unknown
    assert size_class("/no/such/local/folder", "hf") is None


def test_summary_prints_real_size_rows_apart_from_tiny_ones():
    from vlmbench.cli.run import summary_tables

    rows = [{"model_id": "tinyllava-1.4b", "size_class": "real"}, {"model_id": "llava-1.5-7b-tiny", "size_class": "tiny"}]
    text = summary_tables(rows, lambda group: "|".join(r["model_id"] for r in group))
    real_at, tiny_at = text.index("REAL-SIZE"), text.index("tiny variants")
    assert real_at < text.index("tinyllava-1.4b") < tiny_at < text.index("llava-1.5-7b-tiny")
    assert summary_tables(rows[1:], lambda group: "plain") == "plain"  # one class: one plain table
