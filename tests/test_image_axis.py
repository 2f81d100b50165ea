"""The image axis: generated images, several images a request, the model-aware grid, cache
states and dataset files, on real processors and real tiny models."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

PACKAGED = Path(__file__).resolve().parents[1] / "src" / "vlmbench" / "promptset" / "v1" / "images"

GENERATE = """
import hashlib, sys
from vlmbench.promptset.generated import generated_item
for fmt in ("JPEG", "PNG"):
    for w, h in ((640, 480), (1500, 400), (336, 1008)):
        item = generated_item(w, h, int(sys.argv[1]), fmt, n_images=2)
        print(fmt, w, h, " ".join(hashlib.sha256(p.data).hexdigest() for p in item.images))
"""


def _generate_in_fresh_process(seed: int) -> str:
    return subprocess.run([sys.executable, "-c", GENERATE, str(seed)], capture_output=True, text=True,
                          check=True, timeout=300).stdout


def test_generated_images_are_byte_identical_across_processes_and_differ_by_seed():
    first, second, other = (_generate_in_fresh_process(s) for s in (7, 7, 8))
    assert first == second and first.count("\n") == 6
    assert set(first.split()) & set(other.split()) == {"JPEG", "PNG", "640", "480", "1500", "400", "336", "1008"}
    for line in first.splitlines():  # two images of one request differ
        a, b = line.split()[3:]
        assert a != b


def test_generated_images_look_like_pictures():
    import numpy as np
    from PIL import Image

    from vlmbench.promptset.generated import generated_item

    item = generated_item(1024, 768, seed=0, fmt="JPEG")
    with Image.open(io.BytesIO(item.image_bytes)) as im:
        assert im.format == "JPEG" and im.size == (1024, 768)
        pixels = np.asarray(im.convert("RGB")).astype(float)
    raw = 1024 * 768 * 3
    assert 0.01 < len(item.image_bytes) / raw < 0.5  # compresses like a photo: neither flat nor noise
    assert pixels.std() > 20  # not a solid colour
    assert hashlib.sha256(item.image_bytes).hexdigest() == item.sha256
    png = generated_item(640, 480, seed=0, fmt="PNG")
    assert png.format == "PNG" and png.image_bytes[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- grid


def _check_steps(model: str):
    from vlmbench.catalog.visual_tokens import image_token_counts, reference_processor
    from vlmbench.config import RunConfig
    from vlmbench.runner.grid import MAX_SIDE, grid, model_counter, steps

    count, native = model_counter(model, RunConfig())
    sizes = grid(count, native, cap=64)
    assert (sizes[0][0], sizes[0][1]) == native
    processor = reference_processor(model)
    found = steps(count, min(MAX_SIDE, 4 * max(native)))
    # each step: two sizes 1 px apart on the long side (the short one follows its ratio), counts
    # differ, both in the grid, both counted so by the processor itself
    for (w0, h0), t0, (w1, h1), t1 in found:
        assert max(w1 - w0, h1 - h0) == 1 and t0 != t1
        assert ((w0, h0, t0) in sizes) == ((w1, h1, t1) in sizes)  # a step is kept with both sides
        assert (w0, h0, t0) in sizes or len(found) > 20  # all of them unless there are more than the cap
        assert image_token_counts(processor, [(w0, h0), (w1, h1)]) == [t0, t1]
    return sizes, found


def test_grid_lands_on_both_sides_of_each_anyres_step():
    sizes, found = _check_steps("llava-1.6-vicuna-7b-tiny")
    assert len(found) >= 3
    assert max(t for _w, _h, t in sizes) == 2928  # up to the AnyRes maximum
    assert ((336, 336), 1176, (337, 337), 2928) in found  # the square step from one tile to four


@pytest.mark.parametrize("model", ["qwen2.5-vl-3b-tiny", "internvl3.5-1b-tiny", "llava-onevision-0.5b-tiny"])
def test_grid_of_pixel_budget_tile_and_anyres_max_rules(model):
    """Qwen2.5-VL (pixel budget, 28 px steps), InternVL (448 tiles), LLaVA-OneVision (AnyRes up to
    6x6 with shrinking): the same search finds their steps from their processors."""
    sizes, found = _check_steps(model)
    assert len(found) >= 2 and len({t for _w, _h, t in sizes}) >= 4


def test_grid_of_an_aspect_only_rule_has_one_size_per_level():
    from vlmbench.config import RunConfig
    from vlmbench.runner.grid import grid, model_counter

    count, native = model_counter("smolvlm2-256m-tiny", RunConfig())  # resized to a fixed longest edge
    sizes = grid(count, native, cap=8)
    assert sizes[0] == (512, 512, 1088) and (512, 384, 832) in sizes


@pytest.mark.parametrize("model,native,tokens", [("mgm-7b-hd-tiny", (672, 672), 2880),
                                                  ("paligemma-3b-224-tiny", (224, 224), 256)])
def test_grid_of_fixed_token_entries_is_their_native_size(model, native, tokens):
    sizes, found = _check_steps(model)
    assert sizes == [(native[0], native[1], tokens)] and found == []


def test_grid_cap_keeps_native_and_whole_steps():
    from vlmbench.config import RunConfig
    from vlmbench.runner.grid import grid, model_counter, steps

    count, native = model_counter("llava-1.6-vicuna-7b-tiny", RunConfig())
    capped = grid(count, native, cap=5)
    assert len(capped) == 5 and (capped[0][0], capped[0][1]) == native
    kept = [s for s in steps(count, 4 * 672) if (*s[0], s[1]) in capped]
    assert kept and all((*s[2], s[3]) in capped for s in kept)  # a step is kept with both sides


def test_grid_spec_is_checked():
    from vlmbench.errors import UsageError
    from vlmbench.runner.grid import parse_grid

    assert parse_grid("auto:7") == 7
    for bad in ("auto:0", "all", "auto:x"):
        with pytest.raises(UsageError, match="--image-grid"):
            parse_grid(bad)


# ----------------------------------------------------------------------------- cache states


def test_cache_states_change_what_they_say():
    from vlmbench.backends.openai.request import CacheBuster, RequestBuilder
    from vlmbench.backends.openai.server_kinds import SERVER_KINDS
    from vlmbench.promptset.generated import generated_item

    item = generated_item(320, 240, seed=0, fmt="PNG", n_images=2)
    builder = RequestBuilder("m", SERVER_KINDS["generic"], CacheBuster("run-1"))

    def parts(state):
        body = json.loads(builder.build(item, 4, state).body)
        content = body["messages"][0]["content"]
        return ([c["image_url"]["url"] for c in content if c["type"] == "image_url"],
                [c["text"] for c in content if c["type"] == "text"])

    cold = [parts("cold") for _ in range(2)]
    same = [parts("same-image") for _ in range(2)]
    identical = [parts("identical") for _ in range(2)]
    assert len(cold[0][0]) == 2 and cold[0][0][0] != cold[0][0][1]
    assert cold[0][0] != cold[1][0] and cold[0][1] != cold[1][1]  # new image bytes and new text
    assert same[0][0] == same[1][0] == identical[0][0] and same[0][1] != same[1][1]
    assert identical[0] == identical[1] and identical[0][1] == [item.prompt]


# ----------------------------------------------------------------------------- bad input


def _write_dataset(tmp_path: Path, lines: list[str]) -> Path:
    (tmp_path / "cat.jpg").write_bytes((PACKAGED / "photo-cat-451x300.jpg").read_bytes())
    (tmp_path / "broken.png").write_bytes(b"not an image at all")
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("bad_line,problem", [
    ('{"prompt": "Hi", "image_files": ["missing.jpg"]}', "image file is missing"),
    ('{"prompt": "Hi", "image_files": ["broken.png"]}', "is not a readable image"),
    ('{"prompt": "Hi", "image_files": ["cat.jpg"]', "not valid JSON"),
    ('{"prompt": "Hi"}', "'image_files' must be a list"),
    ('{"content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}, '
     '{"type": "text", "text": "Hi"}]}', "only local files"),
])
def test_dataset_problems_are_refused_with_file_and_line(tmp_path, bad_line, problem):
    path = _write_dataset(tmp_path, ['{"prompt": "What is this?", "image_files": ["cat.jpg"]}', bad_line])
    proc = run_cli("run", "--model", "llava-1.5-7b-tiny", "--dataset", str(path), "--out", str(tmp_path / "out"),
                   "--no-progress")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}:2:" in lines[0] and problem in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_dataset_lines_parse_in_every_shape(tmp_path):
    from vlmbench.promptset.dataset import load_dataset

    path = _write_dataset(tmp_path, [
        '{"prompt": "One", "image_files": ["cat.jpg"]}',
        '',
        '{"id": "two", "prompt": "Two", "image": "cat.jpg"}',
        '{"messages": [{"role": "user", "content": [{"type": "text", "text": "Before"}, '
        '{"type": "image", "image": "cat.jpg"}, {"type": "text", "text": "after"}, '
        '{"type": "image_url", "image_url": {"url": "file://' + str(tmp_path / "cat.jpg") + '"}}]}]}',
    ])
    one, two, four = load_dataset(path)
    assert (one.id, two.id, four.id) == ("ds-1", "two", "ds-4")
    assert one.n_images == 1 and four.n_images == 2 and four.width == 451
    assert four.parts() == (("text", "Before"), ("image", 0), ("text", "after"), ("image", 1))


def test_single_image_model_refuses_several_images(tmp_path):
    proc = run_cli("run", "--model", "paligemma-3b-224-tiny", "--images", "320x240", "--images-per-request", "2",
                   "--out", str(tmp_path / "out"), "--no-progress")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "takes one image per request" in lines[0] and "gen-320x240-x2" in lines[0]


@pytest.mark.parametrize("args,problem", [
    (("--images", "640by480"), "--images '640by480': expected WIDTHxHEIGHT"),
    (("--images", "640x99999"), "each side must be"),
    (("--images", "64x64", "--cache-state", "warm"), "--cache-state ['warm']: must be one of"),
    (("--image-grid", "auto:0"), "--image-grid 'auto:0'"),
])
def test_bad_image_options_are_one_line(tmp_path, args, problem):
    proc = run_cli("run", "--model", "llava-1.5-7b-tiny", *args, "--out", str(tmp_path / "out"), "--no-progress")
    assert proc.returncode == 2 and problem in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_generated_multi_image_and_dataset_rows_in_process(tmp_path):
    from vlmbench.config import RunConfig
    from vlmbench.promptset.generated import generated_item
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark

    path = _write_dataset(tmp_path, ['{"id": "pair", "content": [{"type": "text", "text": "Compare"}, '
                                     '{"type": "image", "image": "cat.jpg"}, {"type": "text", "text": "with"}, '
                                     '{"type": "image", "image": "cat.jpg"}]}'])
    config = RunConfig(models=["llava-1.5-7b-tiny"], images=["320x240", "336x1008"], images_per_request=2,
                       dataset=str(path), prompts=["photo-cat-451x300", "gen-320x240-x2", "pair"], repeats=2,
                       max_new_tokens=2, out=tmp_path / "out", progress=False, cache_states=["cold", "identical"])
    result = run_benchmark(config)
    rows = read_rows(result.requests_csv)
    assert {r["status"] for r in rows} == {"ok"} and len(rows) == 3 * 2 * 2
    by_prompt = {r["prompt_id"]: r for r in rows}
    gen = generated_item(320, 240, seed=0, fmt="JPEG", n_images=2)
    assert by_prompt["gen-320x240-x2"]["image_sha256"] == " ".join(p.sha256 for p in gen.images)
    assert by_prompt["gen-320x240-x2"]["n_images"] == 2 and by_prompt["gen-320x240-x2"]["n_image_tokens"] == 2 * 576
    assert by_prompt["pair"]["n_images"] == 2 and by_prompt["pair"]["image_source"] == "dataset"
    assert by_prompt["photo-cat-451x300"]["n_image_tokens"] == 576
    assert by_prompt["photo-cat-451x300"]["image_source"] == "fixed"
    assert {(r["cache_state"], r["scenario"]) for r in rows} == {("cold", "b1-n2-cold"), ("identical", "b1-n2-identical")}
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["generated_images"]["items"]["gen-320x240-x2"][1]["sha256"] == gen.images[1].sha256
    assert manifest["dataset"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_grid_run_records_the_processor_count_on_every_row(tmp_path):
    from vlmbench.config import RunConfig
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark

    config = RunConfig(models=["llava-1.6-vicuna-7b-tiny"], image_grid="auto:5", repeats=1, max_new_tokens=2,
                       out=tmp_path / "out", progress=False)
    result = run_benchmark(config)
    rows = read_rows(result.requests_csv)
    grid = config.grid_sizes["llava-1.6-vicuna-7b-tiny"]
    assert len(rows) == len(grid) == 5
    expected = {f"gen-{w}x{h}": t for w, h, t in grid}
    for r in rows:  # in-process: the real processor's expansion equals the rule the grid was built from
        assert r["status"] == "ok" and r["n_image_tokens"] == expected[r["prompt_id"]]
        assert r["image_source"] == "generated"
    from vlmbench.report.build import build_report

    report = build_report([result.run_dir], tmp_path / "report")
    cost = (report.out_dir / "visual_token_cost.csv").read_text().splitlines()
    assert cost[0].startswith("model_id,") and any(",ttft_ms,4," in line for line in cost[1:])  # 4 warm rows
    assert any(c.name == "ttft_vs_visual_tokens" for c in report.charts)
    assert "What a visual token costs" in (report.out_dir / "index.html").read_text()


# ----------------------------------------------------------------------------- input parity


def _cap_pinpoints(folder: Path, pinpoints: list) -> int:
    """Rewrite every saved ``image_grid_pinpoints`` (model and processor configs): the server's
    processor now caps the AnyRes resolution the catalog entry allows."""
    changed = 0

    def walk(node):
        nonlocal changed
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "image_grid_pinpoints":
                    node[key] = pinpoints
                    changed += 1
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        before = changed
        walk(data)
        if changed != before:
            path.write_text(json.dumps(data, indent=2))
    return changed


@pytest.mark.slow
@pytest.mark.server
def test_parity_flags_a_server_whose_processor_caps_the_image(tmp_path):
    pytest.importorskip("fastapi", reason="transformers serve needs transformers[serving]")
    from servers.transformers_serve import TransformersServe, save_tiny_llava

    from vlmbench.config import RunConfig
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark

    model = "llava-1.6-vicuna-7b-tiny"  # the folder is named after the catalog entry it was saved from
    folder = save_tiny_llava(tmp_path / model, model)
    assert _cap_pinpoints(folder, [[336, 336]]) >= 2
    server = TransformersServe(folder, tmp_path / "serve.log").start()
    try:
        config = RunConfig(backend="openai", endpoint=server.url, models=[str(folder)], images=["336x336", "672x672"],
                           max_new_tokens=2, repeats=1, warmup=0, out=tmp_path / "out", progress=False,
                           request_timeout_s=120.0, cache_states=["identical", "same-image"])
        result = run_benchmark(config)
    finally:
        server.stop()
    rows = read_rows(result.requests_csv)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}, [r["error"] for r in rows]
    by = {(r["prompt_id"], r["cache_state"]): r for r in rows}
    for state in ("identical", "same-image"):
        small, large = by[("gen-336x336", state)], by[("gen-672x672", state)]
        # the catalog's AnyRes rule: 1176 tokens at 336, 2928 at 672; the capped server stays at 1176
        assert small["n_image_tokens"] == 1176 and large["n_image_tokens"] == 2928
        assert small["server_image_tokens"] == 1176 and small["image_token_mismatch"] is False
        assert large["server_image_tokens"] == 1176 and large["image_token_mismatch"] is True
        assert large["scenario"].endswith(state)
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert "catalog entry llava-1.6-vicuna-7b-tiny" in manifest["models"][str(folder)]["input_parity"]
    from vlmbench.report.build import build_report

    html = (build_report([result.run_dir], tmp_path / "report").out_dir / "index.html").read_text()
    assert "Input parity" in html and f"{folder}" in html and "2 of 4 requests" in html


# ----------------------------------------------------------------------------- visual-token cost


def _frame(points, **key):
    import pandas as pd

    rows = [dict(model_id="m", hardware="h", backend="hf", device="cpu", dtype="float32", attn="sdpa",
                 compile=False, cache_state=None, status="ok", cold=False, batch_size=1, window_id=f"w{i}",
                 n_image_tokens=x, ttft_ms=y, **key) for i, (x, y) in enumerate(points)]
    return pd.DataFrame(rows)


def test_fit_recovers_a_linear_cost_and_its_interval():
    import numpy as np

    from vlmbench.analysis.visual_cost import fit_all

    rng = np.random.default_rng(3)
    xs = np.repeat([256, 576, 1176, 2340, 2928], 6)
    ys = 40 + 0.25 * xs + rng.normal(0, 5, len(xs))
    (fit,) = fit_all(_frame(zip(xs.tolist(), ys.tolist())), ("ttft_ms",))
    row = fit.row()
    assert fit.c is None and row["ms_per_1k_tokens_ci_low"] < 250 < row["ms_per_1k_tokens_ci_high"]
    assert abs(row["ms_per_1k_tokens"] - 250) < 10 and row["intercept_ms_ci_low"] < 40 < row["intercept_ms_ci_high"]
    assert row["r2"] > 0.99


def test_fit_keeps_a_quadratic_term_only_where_it_shows():
    import numpy as np

    from vlmbench.analysis.visual_cost import fit_all

    rng = np.random.default_rng(4)
    xs = np.repeat([256, 1024, 2048, 4096, 6144], 5).astype(float)
    ys = 10 + 0.05 * xs + 2e-5 * xs ** 2 + rng.normal(0, 3, len(xs))
    (fit,) = fit_all(_frame(zip(xs.tolist(), ys.tolist())), ("ttft_ms",))
    assert fit.c is not None and fit.c_ci[0] < 2e-5 < fit.c_ci[1]
    held_out = 3072.0  # a size the fit did not see
    truth = 10 + 0.05 * held_out + 2e-5 * held_out ** 2
    assert abs(fit.predict(held_out) - truth) / truth < 0.03


def test_fit_needs_two_token_counts():
    from vlmbench.analysis.visual_cost import fit_all

    (fit,) = fit_all(_frame([(576, 100.0), (576, 101.0), (576, 99.0)]), ("ttft_ms",))
    assert not fit.fitted and "1 distinct visual-token count" in fit.reason


def test_suite_keys_of_the_image_axis(tmp_path):
    from vlmbench.runner.suite import load_suite

    (tmp_path / "data").mkdir()
    path = tmp_path / "s.yaml"
    path.write_text("models: [llava-1.5-7b-tiny]\nimages: [640x480, 336x1008]\nimage_format: png\n"
                    "images_per_request: 2\nimage_grid: auto:6\ndataset: data/p.jsonl\n"
                    "cache_states: [cold, identical]\n")
    config = load_suite(path)
    assert config.images == ["640x480", "336x1008"] and config.image_format == "png"
    assert config.images_per_request == 2 and config.image_grid == "auto:6"
    assert config.dataset == str(tmp_path / "data" / "p.jsonl")  # relative to the suite file
    assert config.cache_states == ["cold", "identical"]
