"""The packaged prompt set v1 and its loader: real files, no mocks."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from vlmbench.errors import PromptSetError, UsageError
from vlmbench.promptset import DEFAULT_VERSION, PromptItem, PromptSet, load_promptset
from vlmbench.promptset.loader import REQUIRED_KEYS, packaged_root

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tools" / "make_promptset_v1.py"


@pytest.fixture(scope="module")
def ps() -> PromptSet:
    return load_promptset()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((packaged_root("v1") / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def copy_v1(tmp_path) -> Path:
    dst = tmp_path / "v1"
    shutil.copytree(packaged_root("v1"), dst)
    return dst


@pytest.fixture(scope="module")
def generator():
    """tools/make_promptset_v1.py imported as a module (it only writes files from main())."""
    name = "make_promptset_v1_under_test"
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look the module up while the class bodies run
    try:
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop(name, None)


# --------------------------------------------------------------------------- the packaged set


def test_packaged_set_loads(ps):
    assert DEFAULT_VERSION == "v1"
    assert ps.version == "v1"
    assert isinstance(ps, PromptSet)
    assert len(ps) == len(ps.items) >= 16
    assert all(isinstance(it, PromptItem) for it in ps)
    assert ps.ids() == [it.id for it in ps.items]
    assert len(set(ps.ids())) == len(ps)
    assert ps.get(ps.ids()[3]) is ps.items[3]
    with pytest.raises(PromptSetError, match="no-such-id"):
        ps.get("no-such-id")


def test_sizes_and_aspect_ratios(ps):
    sizes = {(it.width, it.height) for it in ps}
    assert len(sizes) >= 5
    long_sides = [max(it.width, it.height) for it in ps]
    assert min(long_sides) <= 336
    assert max(long_sides) >= 1344
    assert any(it.width / it.height >= 3 for it in ps), "needs a wide image (>= 3:1)"
    assert any(it.height / it.width >= 2 for it in ps), "needs a tall image (>= 1:2)"


def test_categories_and_prompts(ps):
    cats = {it.category for it in ps}
    assert {"photo", "document", "chart"} <= cats
    word_counts = [len(it.prompt.split()) for it in ps]
    assert min(word_counts) <= 4, "needs a short question"
    sentences = [len(re.findall(r"[.?!](?:\s|$)", it.prompt)) for it in ps]
    assert max(sentences) >= 3, "needs a multi-sentence instruction"
    assert all(it.prompt.strip() == it.prompt and it.prompt for it in ps)


def test_every_checksum_matches_the_file(ps):
    for it in ps:
        data = it.file.read_bytes()
        assert hashlib.sha256(data).hexdigest() == it.sha256, it.id
        assert it.image_bytes == data
        assert it.file.is_absolute()


def test_open_image_gives_manifest_size_in_rgb(ps):
    for it in ps:
        im = it.open_image()
        assert im.mode == "RGB", it.id
        assert im.size == (it.width, it.height), it.id


def test_manifest_schema(manifest, ps):
    assert manifest["version"] == "v1"
    assert isinstance(manifest["description"], str) and manifest["description"]
    for entry in manifest["items"]:
        for key in REQUIRED_KEYS:
            assert key in entry, (entry.get("id"), key)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry["id"]), entry["id"]
        # pyproject ships promptset/v1/images/*: files must sit directly in images/
        assert re.fullmatch(r"images/[^/]+", entry["file"]), entry["file"]
        ext = entry["file"].rsplit(".", 1)[-1]
        assert {"png": "PNG", "jpg": "JPEG"}[ext] == entry["format"], entry["id"]
        assert entry["source"] and entry["licence"]
    on_disk = {p.name for p in (packaged_root("v1") / "images").iterdir()}
    assert on_disk == {Path(e["file"]).name for e in manifest["items"]}, "stray or missing files in images/"
    total = sum(p.stat().st_size for p in (packaged_root("v1") / "images").iterdir())
    assert total < 6_000_000


def test_photos_come_from_a_package_with_a_recorded_licence(manifest):
    photos = [e for e in manifest["items"] if e["category"] == "photo"]
    assert photos
    for e in photos:
        origin = e["origin"]
        assert origin["package"] == "scikit-image"
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", origin["version"])
        assert origin["file"].startswith("skimage/data/")
        assert re.search(r"public domain|CC0", origin["licence_statement"], re.I), e["id"]
        assert re.search(r"public domain|CC0", e["licence"], re.I), e["id"]


# --------------------------------------------------------------------------- refusing bad sets


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_modified_image_is_refused_naming_the_item(copy_v1, ps):
    victim = ps.get("chart-bar-640x480")
    _flip_one_byte(copy_v1 / "images" / victim.file.name)
    with pytest.raises(PromptSetError) as exc:
        load_promptset("v1", root=copy_v1)
    msg = str(exc.value)
    assert "chart-bar-640x480" in msg
    assert victim.file.name in msg
    assert "modified" in msg
    assert isinstance(exc.value, UsageError)
    # the other items are still fine on their own
    assert len(load_promptset("v1", ids=["diagram-shapes-336x336"], root=copy_v1)) == 1


def test_missing_image_is_refused_naming_the_item(copy_v1, ps):
    victim = ps.get("document-receipt-400x1344")
    (copy_v1 / "images" / victim.file.name).unlink()
    with pytest.raises(PromptSetError) as exc:
        load_promptset("v1", root=copy_v1)
    msg = str(exc.value)
    assert "document-receipt-400x1344" in msg
    assert victim.file.name in msg
    assert "missing" in msg


def test_several_bad_images_are_all_named(copy_v1):
    (copy_v1 / "images" / "photo-cat-451x300.jpg").unlink()
    _flip_one_byte(copy_v1 / "images" / "scene-panorama-1500x400.png")
    with pytest.raises(PromptSetError) as exc:
        load_promptset("v1", root=copy_v1)
    msg = str(exc.value)
    assert "'photo-cat-451x300': image file is missing" in msg
    assert "'scene-panorama-1500x400': image file was modified" in msg


def test_intact_copy_loads_from_root(copy_v1, ps):
    copy = load_promptset("v1", root=copy_v1)
    assert copy.ids() == ps.ids()
    assert copy.items[0].file.parent == (copy_v1 / "images").resolve()


def test_unknown_id_is_refused_listing_valid_ids(ps):
    with pytest.raises(PromptSetError) as exc:
        load_promptset("v1", ids=["chart-bar-640x480", "no-such-prompt"])
    msg = str(exc.value)
    assert "no-such-prompt" in msg
    assert all(i in msg for i in ps.ids())


def test_repeated_or_empty_selection_is_refused():
    with pytest.raises(PromptSetError, match="chart-bar-640x480"):
        load_promptset("v1", ids=["chart-bar-640x480", "chart-bar-640x480"])
    with pytest.raises(PromptSetError, match="no prompt ids"):
        load_promptset("v1", ids=[])


def test_unknown_version_is_refused(copy_v1):
    with pytest.raises(PromptSetError, match="'v0'.*available: v1"):
        load_promptset("v0")
    with pytest.raises(PromptSetError, match="declares version 'v1'"):
        load_promptset("v2", root=copy_v1)


def test_subset_keeps_the_given_order():
    wanted = ["scene-panorama-1500x400", "photo-rocket-640x427", "chart-bar-640x480"]
    sub = load_promptset("v1", ids=wanted)
    assert sub.ids() == wanted
    assert [it.id for it in sub] == wanted
    assert len(sub) == 3
    # a tuple or a generator works too
    assert load_promptset(ids=(i for i in reversed(wanted))).ids() == wanted[::-1]


def test_open_image_checks_the_manifest_size(copy_v1):
    manifest_path = copy_v1 / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for e in manifest["items"]:
        if e["id"] == "diagram-shapes-336x336":
            e["width"] = 337
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    item = load_promptset("v1", ids=["diagram-shapes-336x336"], root=copy_v1).items[0]
    with pytest.raises(PromptSetError, match=r"diagram-shapes-336x336.*336x336.*337x336"):
        item.open_image()


# --------------------------------------------------------------------------- the generator


_SYNTH_KEYS = ("pillow", "freetype2", "zlib", "zlib_ng", "matplotlib")
_PHOTO_KEYS = ("pillow", "libjpeg", "libjpeg_turbo", "scikit-image")


def _version_mismatch(generator, manifest, keys) -> list[str]:
    now = generator.generator_versions()
    then = manifest["generator"]["versions"]
    return [f"{k}: {then.get(k)} -> {now.get(k)}" for k in keys if then.get(k) != now.get(k)]


def test_generator_is_deterministic_within_a_run(generator):
    ids = ["diagram-shapes-336x336", "chart-bar-640x480", "document-banner-1200x300"]
    first = {i: data for i, (_, data) in generator.render(ids).items()}
    second = {i: data for i, (_, data) in generator.render(ids).items()}
    assert first == second


def test_generator_reproduces_the_synthetic_images(generator, manifest):
    mismatch = _version_mismatch(generator, manifest, _SYNTH_KEYS)
    if mismatch:
        pytest.skip("image libraries differ from the ones that made v1: " + "; ".join(mismatch))
    expected = {e["id"]: e for e in manifest["items"]}
    assert set(generator.SYNTHETIC_IDS) == {i for i, e in expected.items() if e["category"] != "photo"}
    for item_id, (spec, data) in generator.render(generator.SYNTHETIC_IDS).items():
        rec = generator.item_record(spec, data)
        for key in ("sha256", "file", "width", "height", "format", "prompt", "category", "source", "licence"):
            assert rec[key] == expected[item_id][key], (item_id, key)


def test_generator_reproduces_the_photos(generator, manifest):
    if generator.skimage_dir() is None:
        pytest.skip("scikit-image is not installed (the photos are copied from it)")
    mismatch = _version_mismatch(generator, manifest, _PHOTO_KEYS)
    if mismatch:
        pytest.skip("photo sources or JPEG encoder differ from the ones that made v1: " + "; ".join(mismatch))
    expected = {e["id"]: e for e in manifest["items"]}
    for item_id, (spec, data) in generator.render(generator.PHOTO_IDS).items():
        assert generator.item_record(spec, data) == expected[item_id], item_id


def test_prompt_set_and_dataset_refuse_a_bad_image_file_with_the_same_line(copy_v1, ps, tmp_path):
    """One reader (promptset/image_file.py) serves the manifest and --dataset: the same bad file
    (a truncated copy of a shipped image, checksum made to match) gets the same one-line refusal
    from both, naming the input first; so does a missing file."""
    from vlmbench.promptset.dataset import load_dataset

    victim = ps.get("chart-bar-640x480")
    image = copy_v1 / "images" / victim.file.name
    truncated = image.read_bytes()[: image.stat().st_size // 2]
    image.write_bytes(truncated)
    manifest_path = copy_v1 / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["items"]:
        if entry["id"] == victim.id:
            entry["sha256"] = hashlib.sha256(truncated).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    item = load_promptset("v1", ids=[victim.id], root=copy_v1).get(victim.id)  # the checksum holds
    with pytest.raises(PromptSetError) as from_set:
        item.open_image()
    data = tmp_path / "data"
    data.mkdir()
    (data / victim.file.name).write_bytes(truncated)
    (data / "d.jsonl").write_text(json.dumps({"prompt": "Hi", "image_file": victim.file.name}) + "\n")
    with pytest.raises(UsageError) as from_dataset:
        load_dataset(data / "d.jsonl")
    set_msg, dataset_msg = str(from_set.value), str(from_dataset.value)
    assert "\n" not in set_msg and "\n" not in dataset_msg
    assert set_msg.startswith(f"prompt-set item {victim.id!r}: ") and dataset_msg.startswith(f"{data / 'd.jsonl'}:1: ")
    reason = " is not a readable image: "
    assert reason in set_msg and set_msg.split(reason)[1] == dataset_msg.split(reason)[1]  # same words, same reason
    image.unlink()
    (data / victim.file.name).unlink()
    with pytest.raises(PromptSetError, match=f"prompt-set item {victim.id!r}: image file is missing: "):
        load_promptset("v1", ids=[victim.id], root=copy_v1)
    with pytest.raises(UsageError, match=r"d\.jsonl:1: image file is missing: "):
        load_dataset(data / "d.jsonl")
