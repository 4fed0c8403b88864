"""Perceptual fingerprints of photos and re-use matching.

A global perceptual hash survives resizing and recompression but not cropping: on real photos a
5 % crop per side moved pHash by up to 24 bits, as far as unrelated photos are from each other.
So a fingerprint holds a 64-bit pHash *and* a 64-bit dHash for each of 18 regions of the upright
image: the full frame, centre crops (95, 90, 85 %), one-sided crops (95 and 90 % on each side), top
80 % and 65 % crops (they drop a watermark band) and four 90 % corner crops.

Two photos match when, for one pair of regions - (full, region), (region, full) or the same
region on both sides - **pHash <= 10 bits and dHash <= 12 bits**. dHash is the second signal: it
must agree on the same pair of regions, so one hash being close by chance is not enough.

The thresholds were chosen on real photos (the scikit-image sample photos and two board photos
found on the build machine) plus generated photo-like scenes; ``bench/media_bench.py --calibrate``
reproduces the figures, which are in ``docs/benchmarks.md`` (Media). In short: every resized,
recompressed, brightened or 2-12 % cropped copy is found; copies carrying our watermark band are
found unless the photo is under ~200 px tall (the band then covers half of it); of all distinct
pairs only a stereo pair of one scene taken centimetres apart and a retouched copy of one photo
match - both are cases a reviewer should see.

Hashes are computed on a <= 256 px grayscale copy, so passing the 320 px thumbnail is as good
as passing the original. Not handled: rotated or mirrored copies, heavy crops (> ~15 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import imagehash
import numpy as np
from PIL import Image

#: Regions as (left, top, right, bottom) fractions of the upright image; index 0 is the full frame.
REGIONS: Final[tuple[tuple[str, tuple[float, float, float, float]], ...]] = (
    ("full", (0.0, 0.0, 1.0, 1.0)),
    ("c95", (0.025, 0.025, 0.975, 0.975)),
    ("c90", (0.05, 0.05, 0.95, 0.95)),
    ("c85", (0.075, 0.075, 0.925, 0.925)),
    ("l90", (0.0, 0.0, 0.9, 1.0)),
    ("r90", (0.1, 0.0, 1.0, 1.0)),
    ("t90", (0.0, 0.0, 1.0, 0.9)),
    ("b90", (0.0, 0.1, 1.0, 1.0)),
    ("l95", (0.0, 0.0, 0.95, 1.0)),
    ("r95", (0.05, 0.0, 1.0, 1.0)),
    ("t95", (0.0, 0.0, 1.0, 0.95)),
    ("b95", (0.0, 0.05, 1.0, 1.0)),
    ("t80", (0.0, 0.0, 1.0, 0.8)),
    ("t65", (0.0, 0.0, 1.0, 0.65)),
    ("tl90", (0.0, 0.0, 0.9, 0.9)),
    ("tr90", (0.1, 0.0, 1.0, 0.9)),
    ("bl90", (0.0, 0.1, 0.9, 1.0)),
    ("br90", (0.1, 0.1, 1.0, 1.0)),
)
REGION_NAMES: Final = tuple(name for name, _ in REGIONS)
WORKING_SIZE: Final = 256
_HEX_PER_HASH: Final = 16

# Pairs of region indices compared: (full, r), (r, full), (r, r).
_PAIRS: Final = tuple(
    sorted(
        {(0, 0)}
        | {(0, i) for i in range(1, len(REGIONS))}
        | {(i, 0) for i in range(1, len(REGIONS))}
        | {(i, i) for i in range(1, len(REGIONS))}
    )
)
_PAIR_A: Final = np.array([a for a, _ in _PAIRS], dtype=np.intp)
_PAIR_B: Final = np.array([b for _, b in _PAIRS], dtype=np.intp)


@dataclass(frozen=True, slots=True)
class ReuseThresholds:
    """Maximum Hamming distances (of 64 bits) for a match; both must hold on one region pair."""

    phash: int = 10
    dhash: int = 12


DEFAULT_THRESHOLDS: Final = ReuseThresholds()


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """pHash and dHash per region (in :data:`REGIONS` order), as unsigned 64-bit integers."""

    phash: tuple[int, ...]
    dhash: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.phash) != len(REGIONS) or len(self.dhash) != len(REGIONS):
            raise ValueError(f"a fingerprint has {len(REGIONS)} pHash and dHash values")

    def to_hex(self) -> str:
        """Storable form: 16 hex digits per hash, all pHashes then all dHashes."""
        return "".join(f"{value:016x}" for value in (*self.phash, *self.dhash))

    @classmethod
    def from_hex(cls, text: str) -> Fingerprint:
        count = 2 * len(REGIONS)
        if len(text) != count * _HEX_PER_HASH:
            raise ValueError("malformed fingerprint")
        values = [int(text[i * _HEX_PER_HASH : (i + 1) * _HEX_PER_HASH], 16) for i in range(count)]
        return cls(tuple(values[: len(REGIONS)]), tuple(values[len(REGIONS) :]))


@dataclass(frozen=True, slots=True)
class ReuseMatch:
    """The closest earlier photo within the thresholds."""

    media_id: str
    phash_distance: int
    dhash_distance: int
    regions: tuple[str, str]  # (region of the new photo, region of the earlier one)


def _hash_int(value: imagehash.ImageHash) -> int:
    return int(str(value), 16)


def fingerprint(image: Image.Image) -> Fingerprint:
    """Fingerprint an *upright* image (apply the EXIF orientation first)."""
    grey = image.convert("L") if image.mode != "L" else image
    if max(grey.size) > WORKING_SIZE:
        grey = grey.copy()
        grey.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BILINEAR)
    width, height = grey.size
    phashes: list[int] = []
    dhashes: list[int] = []
    for _, (left, top, right, bottom) in REGIONS:
        box = (round(left * width), round(top * height), round(right * width), round(bottom * height))
        crop = grey.crop(box) if box != (0, 0, width, height) else grey
        phashes.append(_hash_int(imagehash.phash(crop)))
        dhashes.append(_hash_int(imagehash.dhash(crop)))
    return Fingerprint(tuple(phashes), tuple(dhashes))


def _as_array(values: Sequence[int]) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def _distances(new: Fingerprint, p: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hamming distances for every compared region pair: arrays of shape (priors, pairs)."""
    new_p, new_d = _as_array(new.phash)[_PAIR_A], _as_array(new.dhash)[_PAIR_A]
    dp = np.bitwise_count(p[:, _PAIR_B] ^ new_p).astype(np.int32)
    dd = np.bitwise_count(d[:, _PAIR_B] ^ new_d).astype(np.int32)
    return dp, dd


def compare(
    a: Fingerprint, b: Fingerprint, thresholds: ReuseThresholds = DEFAULT_THRESHOLDS
) -> tuple[int, int, tuple[str, str]] | None:
    """Closest region pair within the thresholds as ``(phash, dhash, regions)``, or ``None``."""
    match = find_reuse(a, [("", b)], thresholds)
    if match is None:
        return None
    return match.phash_distance, match.dhash_distance, match.regions


class FingerprintIndex:
    """Earlier photos' fingerprints held as arrays, for matching a new photo against many at once.

    Matching 100 000 earlier photos takes tens of milliseconds (vectorised Hamming distances).
    """

    def __init__(self, priors: Iterable[tuple[str, Fingerprint]]) -> None:
        items = list(priors)
        self.media_ids = [media_id for media_id, _ in items]
        shape = (len(items), len(REGIONS))
        self._p = np.array([fp.phash for _, fp in items], dtype=np.uint64).reshape(shape)
        self._d = np.array([fp.dhash for _, fp in items], dtype=np.uint64).reshape(shape)

    def __len__(self) -> int:
        return len(self.media_ids)

    def best_match(
        self, new: Fingerprint, thresholds: ReuseThresholds = DEFAULT_THRESHOLDS
    ) -> ReuseMatch | None:
        if not self.media_ids:
            return None
        dp, dd = _distances(new, self._p, self._d)
        ok = (dp <= thresholds.phash) & (dd <= thresholds.dhash)
        if not ok.any():
            return None
        score = np.where(ok, dp + dd, np.iinfo(np.int32).max)
        row, col = np.unravel_index(int(np.argmin(score)), score.shape)
        return ReuseMatch(
            media_id=self.media_ids[row],
            phash_distance=int(dp[row, col]),
            dhash_distance=int(dd[row, col]),
            regions=(REGION_NAMES[_PAIR_A[col]], REGION_NAMES[_PAIR_B[col]]),
        )


def find_reuse(
    new: Fingerprint,
    priors: Iterable[tuple[str, Fingerprint]] | FingerprintIndex,
    thresholds: ReuseThresholds = DEFAULT_THRESHOLDS,
) -> ReuseMatch | None:
    """The earlier photo that ``new`` most closely copies, or ``None``."""
    index = priors if isinstance(priors, FingerprintIndex) else FingerprintIndex(priors)
    return index.best_match(new, thresholds)
