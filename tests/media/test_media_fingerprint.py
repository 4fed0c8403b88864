from __future__ import annotations

import importlib.util
import io
import itertools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import mediagen as gen
import pytest
from PIL import Image, ImageEnhance

from media import images
from media.fingerprint import (
    REGIONS,
    Fingerprint,
    FingerprintIndex,
    ReuseThresholds,
    compare,
    find_reuse,
    fingerprint,
)
from media.watermark import WatermarkStamp, watermark_image


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue()))


def _crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(left * w), round(top * h), round(w - right * w), round(h - bottom * h)))


STAMP = WatermarkStamp(
    datetime(2024, 5, 6, 6, 0, tzinfo=UTC), "Asia/Shanghai", 31.2, 121.4, "华联超市", "张伟", "v-1"
)

COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize 50%": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "resize 25%": lambda im: im.resize((im.width // 4, im.height // 4), Image.Resampling.BILINEAR),
    "jpeg q60": lambda im: _jpeg(im, 60),
    "jpeg q30": lambda im: _jpeg(im, 30),
    "crop 3% each side": lambda im: _crop(im, 0.03, 0.03, 0.03, 0.03),
    "crop 5% each side": lambda im: _crop(im, 0.05, 0.05, 0.05, 0.05),
    "crop 8% right": lambda im: _crop(im, 0, 0, 0.08, 0),
    "crop 6% left": lambda im: _crop(im, 0.06, 0, 0, 0),
    "crop 12% right": lambda im: _crop(im, 0, 0, 0.12, 0),
    "crop 7% top": lambda im: _crop(im, 0, 0.07, 0, 0),
    "crop + resize + q70": lambda im: _jpeg(
        _crop(im, 0.04, 0.04, 0.04, 0.04).resize((im.width // 2, im.height // 2)), 70
    ),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.15),
    "our watermark band": lambda im: watermark_image(im, STAMP),
}


@pytest.fixture(scope="module")
def scenes() -> dict[str, Image.Image]:
    return {f"scene{i}": gen.photo_like(800, 600, seed=200 + i) for i in range(10)}


@pytest.fixture(scope="module")
def scene_prints(scenes: dict[str, Image.Image]) -> dict[str, Fingerprint]:
    return {name: fingerprint(image) for name, image in scenes.items()}


@pytest.mark.parametrize("copy", list(COPIES))
def test_copies_of_generated_photos_are_found(
    copy: str, scenes: dict[str, Image.Image], scene_prints: dict[str, Fingerprint]
) -> None:
    index = FingerprintIndex(scene_prints.items())
    for name, image in scenes.items():
        match = index.best_match(fingerprint(COPIES[copy](image)))
        assert match is not None, f"{copy} of {name} not found"
        assert match.media_id == name


def test_distinct_generated_photos_do_not_match(scene_prints: dict[str, Fingerprint]) -> None:
    for (a, fa), (b, fb) in itertools.combinations(scene_prints.items(), 2):
        assert compare(fa, fb) is None, f"{a} and {b} matched"


def test_second_signal_is_required(scene_prints: dict[str, Fingerprint]) -> None:
    """A pHash that happens to be close is not enough when dHash disagrees (and vice versa)."""
    a = scene_prints["scene0"]
    b = Fingerprint(a.phash, tuple(v ^ 0xFFFF_FFFF for v in a.dhash))  # dHash 32 bits away everywhere
    assert compare(a, b) is None
    c = Fingerprint(tuple(v ^ 0xFFFF_FFFF for v in a.phash), a.dhash)
    assert compare(a, c) is None
    assert compare(a, a) == (0, 0, ("full", "full"))


def test_thresholds_are_settings(
    scenes: dict[str, Image.Image], scene_prints: dict[str, Fingerprint]
) -> None:
    cropped = fingerprint(COPIES["crop 3% each side"](scenes["scene1"]))  # not on the region grid
    assert compare(cropped, scene_prints["scene1"]) is not None
    assert compare(cropped, scene_prints["scene1"], ReuseThresholds(phash=0, dhash=0)) is None


def test_thumbnail_fingerprint_matches_the_original(scenes: dict[str, Image.Image]) -> None:
    big = gen.photo_like(4000, 3000, seed=314)
    thumb = Image.open(io.BytesIO(images.make_thumbnail(big).data))
    result = compare(fingerprint(thumb), fingerprint(big))
    assert result is not None
    assert result[0] <= 4


def test_best_of_several_matches_is_returned(
    scenes: dict[str, Image.Image], scene_prints: dict[str, Fingerprint]
) -> None:
    exact = fingerprint(scenes["scene2"])
    near = fingerprint(COPIES["crop 5% each side"](scenes["scene2"]))
    priors = [*scene_prints.items(), ("near-copy", near)]
    priors = [(k if k != "scene2" else "original", v) for k, v in priors]
    match = find_reuse(exact, priors)
    assert match is not None
    assert match.media_id == "original"
    assert (match.phash_distance, match.dhash_distance) == (0, 0)
    assert find_reuse(exact, []) is None


def test_hex_round_trip(scene_prints: dict[str, Fingerprint]) -> None:
    fp = scene_prints["scene3"]
    text = fp.to_hex()
    assert len(text) == 2 * len(REGIONS) * 16
    assert Fingerprint.from_hex(text) == fp
    with pytest.raises(ValueError, match="malformed"):
        Fingerprint.from_hex(text[:-1])


def test_index_scales(scene_prints: dict[str, Fingerprint]) -> None:
    import time

    import numpy as np

    rng = np.random.default_rng(0)
    n = len(REGIONS)
    randoms = [
        (f"r{i}", Fingerprint(tuple(int(v) for v in row[:n]), tuple(int(v) for v in row[n:])))
        for i, row in enumerate(rng.integers(0, 2**63, size=(20_000, 2 * n), dtype=np.uint64))
    ]
    index = FingerprintIndex([*randoms, ("target", scene_prints["scene4"])])
    started = time.perf_counter()
    match = index.best_match(scene_prints["scene4"])
    elapsed = time.perf_counter() - started
    assert match is not None
    assert match.media_id == "target"
    assert elapsed < 1.0


# --- real photos -------------------------------------------------------------------------------


def _real_photos() -> dict[str, Image.Image]:
    """Sample photos shipped inside scikit-image (if installed) plus any in ``$MEDIA_REAL_PHOTOS_DIR``."""
    found: dict[str, Image.Image] = {}
    spec = importlib.util.find_spec("skimage")
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        for name in (
            "astronaut.png",
            "chelsea.png",
            "coffee.png",
            "camera.png",
            "coins.png",
            "moon.png",
            "motorcycle_left.png",
            "rocket.jpg",
            "retina.jpg",
            "hubble_deep_field.jpg",
            "grass.png",
            "gravel.png",
            "brick.png",
            "color.png",
            "ihc.png",
            "cell.png",
            "clock_motion.png",
        ):
            if (data / name).exists():
                found[name] = Image.open(data / name).convert("RGB")
    extra = os.environ.get("MEDIA_REAL_PHOTOS_DIR")
    if extra:
        for path in sorted(Path(extra).iterdir()):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                found[path.name] = Image.open(path).convert("RGB")
    return found


REAL = _real_photos()


@pytest.mark.skipif(len(REAL) < 8, reason="no real photo set on this machine (install scikit-image)")
def test_real_photos_copies_found_and_distinct_photos_not() -> None:
    prints = {name: fingerprint(image) for name, image in REAL.items()}
    index = FingerprintIndex(prints.items())
    missed = [
        (copy, name)
        for copy, make in COPIES.items()
        for name, image in REAL.items()
        if min(image.size) >= 250 or copy != "our watermark band"
        if (m := index.best_match(fingerprint(make(image)))) is None or m.media_id != name
    ]
    assert missed == []
    false = [(a, b) for (a, fa), (b, fb) in itertools.combinations(prints.items(), 2) if compare(fa, fb)]
    assert false == []
