"""The rendition of a visit photo: upright, downscaled, watermarked, signed, plus a thumbnail.

Pure CPU work on a stored original (a path); no database, no HTTP. Synchronous: run it in a
worker thread. The original was validated on upload (type sniffed, pixels bounded), so it is
decoded here without repeating those checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from media import images, provenance, sniff
from media.images import ExifData, Rendition
from media.watermark import WatermarkLabels, draw_band, format_time

#: Longest side of the watermarked rendition (a display copy; the original is kept unchanged).
RENDITION_MAX_SIDE: Final = 2048
RENDITION_QUALITY: Final = 85
THUMBNAIL_MAX_SIDE: Final = 320


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    """What the server trusts about a visit photo, printed on its band and signed.

    ``lat``/``lon`` are the visit's check-in position (``None`` when it has none); ``place_note``
    qualifies them (e.g. the check-in verdict when it was not verified).
    """

    media_id: str
    visit_id: str
    rep_id: str
    issued_at: datetime  # server receive time, timezone-aware
    time_zone: str
    customer_name: str
    rep_name: str
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    place_note: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedPhoto:
    rendition: bytes  # signed JPEG
    record: provenance.ProvenanceRecord
    thumbnail: Rendition
    width: int
    height: int
    exif: ExifData


def band_lines(facts: PhotoFacts, labels: WatermarkLabels = WatermarkLabels()) -> list[str]:
    """Time, place, customer, rep, visit: the same lines as :func:`media.watermark.stamp_lines`,
    with a place that may be unknown."""
    if facts.lat is not None and facts.lon is not None:
        place = f"{facts.lat:.6f}, {facts.lon:.6f}"
    else:
        place = "no check-in position"
    if facts.address:
        place = f"{place}  {facts.address}"
    if facts.place_note:
        place = f"{place}  ({facts.place_note})"
    return [
        format_time(facts.issued_at, facts.time_zone),
        place,
        f"{labels.customer}: {facts.customer_name}",
        f"{labels.rep}: {facts.rep_name}",
        f"{labels.visit}: {facts.visit_id}",
    ]


def render_photo(
    path: str | Path,
    content_type: str,
    facts: PhotoFacts,
    signer: provenance.Signer,
    *,
    max_side: int = RENDITION_MAX_SIDE,
    quality: int = RENDITION_QUALITY,
) -> RenderedPhoto:
    """Decode the original once; make the thumbnail, then the watermarked, signed rendition."""
    with images.open_image(path, content_type) as image:
        if content_type == sniff.JPEG:
            image.draft("RGB", (max_side, max_side))  # DCT scaling: decode no larger than needed
        image.load()
        exif = images.read_exif(image)
        icc = image.info.get("icc_profile")
        display = images.to_rgb(images.resize_within(images.upright(image), max_side))
        if display is image:
            display = image.copy()
    thumbnail = images.make_thumbnail(display, THUMBNAIL_MAX_SIDE)
    draw_band(display, band_lines(facts))
    jpeg = images.encode(display, "JPEG", quality, icc_profile=icc)
    claims = provenance.ProvenanceClaims(
        media_id=facts.media_id,
        visit_id=facts.visit_id,
        rep_id=facts.rep_id,
        issued_at=facts.issued_at,
        lat=facts.lat,  # type: ignore[arg-type]  # null in the token when there was no check-in
        lon=facts.lon,  # type: ignore[arg-type]
    )
    signed = provenance.sign_rendition(jpeg, claims, signer)
    return RenderedPhoto(signed.data, signed.record, thumbnail, display.width, display.height, exif)
