"""Image clean-up before OCR: orientation, grayscale, crop, scale, deskew, contrast, thresholding.

Each step is a small pure function on Pillow images. The pipeline uses the ones that measurably
helped on real scanned receipts (see `docs/benchmarks.md`, section OCR): upright, grayscale, crop,
text scaling, background flattening; deskew and binarisation are here for other sources.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

# Tesseract reads best when capital letters are roughly 20-35 px tall.
TARGET_TEXT_HEIGHT = 26
_MAX_SIDE = 4000
_MIN_CONTENT = 24  # px; smaller ink regions are specks


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (phones store portrait photos sideways with a tag)."""
    try:
        return ImageOps.exif_transpose(image)
    except (ValueError, OSError, SyntaxError):
        return image


def to_gray(image: Image.Image) -> Image.Image:
    """8-bit grayscale; transparent areas become white paper."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode == "I;16" or image.mode.startswith("I;16"):
        image = image.point(lambda v: v / 256)
    return image.convert("L")


def shrink_to_limit(gray: Image.Image, max_side: int = _MAX_SIDE) -> Image.Image:
    scale = max_side / max(gray.size)
    if scale >= 1:
        return gray
    return gray.resize(
        (max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), Image.Resampling.LANCZOS
    )


def ink_mask(gray: Image.Image) -> np.ndarray:
    """Boolean array, True where a pixel is clearly darker than the paper around it."""
    arr = np.asarray(gray, dtype=np.float32)
    background = ndimage.uniform_filter(arr, size=max(15, min(arr.shape) // 20))
    return arr < np.minimum(background - 25, 200)


def crop_to_content(gray: Image.Image, margin: int = 12) -> Image.Image:
    """Cut away empty paper and scanner specks around the receipt text.

    Dark pixels are dilated into text blobs; blobs that are tiny or isolated are dropped, and the
    crop keeps the box of what is left. Returns the input when nothing sensible is found.
    """
    small_scale = min(1.0, 800 / max(gray.size))
    small = (
        gray
        if small_scale == 1.0
        else gray.resize(
            (max(1, round(gray.width * small_scale)), max(1, round(gray.height * small_scale))),
            Image.Resampling.BILINEAR,
        )
    )
    mask = ink_mask(small)
    if not mask.any():
        return gray
    blobs = ndimage.binary_dilation(mask, structure=np.ones((3, 9), dtype=bool), iterations=2)
    labels, count = ndimage.label(blobs)
    if count == 0:
        return gray
    sizes = ndimage.sum(mask, labels, index=np.arange(1, count + 1))
    keep_min = max(_MIN_CONTENT * small_scale, 0.002 * sizes.sum())
    keep = np.flatnonzero(sizes >= keep_min) + 1
    if keep.size == 0:
        return gray
    kept = np.isin(labels, keep)
    rows = np.flatnonzero(kept.any(axis=1))
    cols = np.flatnonzero(kept.any(axis=0))
    top, bottom = rows[0] / small_scale, (rows[-1] + 1) / small_scale
    left, right = cols[0] / small_scale, (cols[-1] + 1) / small_scale
    box = (
        max(0, int(left) - margin),
        max(0, int(top) - margin),
        min(gray.width, int(right) + margin),
        min(gray.height, int(bottom) + margin),
    )
    if box[2] - box[0] < 16 or box[3] - box[1] < 16:
        return gray
    return gray.crop(box)


def text_height(gray: Image.Image) -> float | None:
    """Median height in pixels of character-sized ink blobs, or None when there is no text-like ink."""
    mask = ink_mask(gray)
    labels, count = ndimage.label(mask)
    if count < 20:
        return None
    slices = ndimage.find_objects(labels)
    heights = np.array([s[0].stop - s[0].start for s in slices if s is not None], dtype=np.float32)
    widths = np.array([s[1].stop - s[1].start for s in slices if s is not None], dtype=np.float32)
    plausible = heights[(heights >= 6) & (heights <= 200) & (widths <= heights * 3) & (widths >= 2)]
    if plausible.size < 20:
        return None
    return float(np.median(plausible))


def scale_text(
    gray: Image.Image, target: float = TARGET_TEXT_HEIGHT, *, measured: float | None = None
) -> Image.Image:
    """Resize so that the median character height is about `target` pixels (within 1/3 to 3x)."""
    height = measured if measured is not None else text_height(gray)
    if height is None:
        return gray
    factor = max(1 / 3, min(3.0, target / height))
    if 0.85 <= factor <= 1.15:
        return gray
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    if max(size) > _MAX_SIDE * 2:
        return gray
    return gray.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)


def skew_angle(gray: Image.Image, limit: float = 5.0, step: float = 0.25) -> float:
    """Small text-line skew in degrees (positive = counter-clockwise) by projection-profile sharpness."""
    scale = min(1.0, 1000 / max(gray.size))
    small = (
        gray.resize(
            (max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), Image.Resampling.BILINEAR
        )
        if scale < 1
        else gray
    )
    mask = Image.fromarray((ink_mask(small) * 255).astype(np.uint8))
    best_angle, best_score = 0.0, -1.0
    for angle in np.arange(-limit, limit + step / 2, step):
        rotated = np.asarray(
            mask.rotate(float(angle), resample=Image.Resampling.NEAREST, expand=False), dtype=np.float32
        )
        profile = rotated.sum(axis=1)
        score = float(np.sum(np.diff(profile) ** 2))
        if score > best_score:
            best_angle, best_score = float(angle), score
    return best_angle


def deskew(gray: Image.Image, *, min_angle: float = 0.4) -> Image.Image:
    angle = skew_angle(gray)
    if abs(angle) < min_angle:
        return gray
    return gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def rotate_upright(image: Image.Image, rotate: int) -> Image.Image:
    """Turn by tesseract OSD's `Rotate` value (degrees clockwise)."""
    if rotate % 360 == 0:
        return image
    return image.rotate(-rotate, expand=True, fillcolor=255 if image.mode == "L" else None)


def flatten_background(
    gray: Image.Image, *, size: int = 31, strength: float = 1.0, local: bool = False
) -> Image.Image:
    """Divide by the local paper brightness and stretch ink contrast, so faded thermal print gets dark.

    The paper level is a grey closing over `size` pixels (wider than a stroke), computed at a quarter
    of the resolution. Ink is stretched so the darkest 0.5 % becomes black, then lifted by the gamma
    `strength` (above 1 darkens faint strokes). With `local`, ink is rescaled against the darkest ink
    nearby instead, with a floor that keeps empty paper and specks from being amplified.
    """
    arr = np.asarray(gray, dtype=np.float32)
    factor = 4
    small_size = (max(1, gray.width // factor), max(1, gray.height // factor))
    small = np.asarray(gray.resize(small_size, Image.Resampling.BOX), dtype=np.float32)
    reach = max(3, size // factor)
    closed = ndimage.grey_closing(small, size=(reach, reach))
    paper = np.asarray(Image.fromarray(closed).resize(gray.size, Image.Resampling.BILINEAR), dtype=np.float32)
    ink = 1.0 - np.clip(arr / np.maximum(paper, 1.0), 0.0, 1.0)
    top = float(np.percentile(ink, 99.5))
    if top <= 0.02:
        return gray
    if local:
        small_ink = np.asarray(
            Image.fromarray(ink).resize(small_size, Image.Resampling.BOX), dtype=np.float32
        )
        peak = ndimage.maximum_filter(small_ink, size=(reach, reach * 3))
        peak = ndimage.uniform_filter(peak, size=reach)
        scale = np.asarray(
            Image.fromarray(peak).resize(gray.size, Image.Resampling.BILINEAR), dtype=np.float32
        )
        ink = ink / np.maximum(scale, 0.35 * top)
    else:
        ink = ink / top
    stretched = np.clip(ink, 0.0, 1.0) ** (1.0 / max(strength, 0.1))
    return Image.fromarray((255 * (1.0 - stretched)).astype(np.uint8))


def binarize(gray: Image.Image, window: int = 31, k: float = 0.15) -> Image.Image:
    """Local (Sauvola-style) threshold: black text on white, robust to uneven scan lighting."""
    arr = np.asarray(gray, dtype=np.float64)
    mean = ndimage.uniform_filter(arr, size=window)
    sq_mean = ndimage.uniform_filter(arr * arr, size=window)
    std = np.sqrt(np.maximum(sq_mean - mean * mean, 0))
    threshold = mean * (1 + k * (std / 128.0 - 1))
    return Image.fromarray(np.where(arr > threshold, 255, 0).astype(np.uint8))


def ink_density(gray: Image.Image) -> float:
    """Share of pixels that are ink. Printed receipts measure 0.03-0.12; sensor noise about 0.4."""
    return float(ink_mask(shrink_to_limit(gray, 1200)).mean())


def is_blank(gray: Image.Image) -> bool:
    """True when the image holds (almost) no ink: an empty page, a flat colour or a smooth gradient."""
    return ink_density(gray) < 0.0005
