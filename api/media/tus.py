"""The tus 1.0 resumable upload protocol: headers, parsing and refusals (no HTTP framework here).

Implemented: core, ``creation``, ``creation-with-upload``, ``checksum``, ``termination`` and
``expiration`` (https://tus.io/protocols/resumable-upload). Not implemented: ``concatenation``
and ``creation-defer-length`` (a length is needed up front to refuse oversized files at once).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Final

from api.lib.errors import BadRequest, DomainError, PayloadTooLarge, UnsupportedMediaType

VERSION: Final = "1.0.0"
EXTENSIONS: Final = ("creation", "creation-with-upload", "checksum", "termination", "expiration")
#: Algorithms accepted in ``Upload-Checksum`` (names as tus spells them).
CHECKSUM_ALGORITHMS: Final = ("sha1", "sha256", "md5")
OFFSET_CONTENT_TYPE: Final = "application/offset+octet-stream"
#: Custom response header naming the media record once an upload is complete.
MEDIA_ID_HEADER: Final = "Fieldline-Media-Id"

_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_MAX_METADATA_BYTES = 4096


class TusError(DomainError):
    """A tus-level refusal; carries its own status (412, 460 are tus-specific)."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None
    ):
        super().__init__(detail, code=code, headers=headers)
        self.status = status
        self.title = title


def check_version(headers: Mapping[str, str]) -> None:
    """Every request but OPTIONS must name a version we speak (412 otherwise)."""
    version = headers.get("tus-resumable")
    if version != VERSION:
        raise TusError(
            412,
            "tus_version_unsupported",
            "Precondition failed",
            f"Tus-Resumable must be {VERSION}" + (f", not {version}" if version else ""),
            headers={"Tus-Version": VERSION},
        )


def discovery_headers(max_size: int) -> dict[str, str]:
    return {
        "Tus-Resumable": VERSION,
        "Tus-Version": VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def http_date(moment: datetime) -> str:
    """RFC 9110 ``IMF-fixdate``, as ``Upload-Expires`` wants it."""
    return format_datetime(moment, usegmt=True)


def parse_non_negative(headers: Mapping[str, str], name: str) -> int:
    raw = headers.get(name.lower())
    if raw is None:
        raise BadRequest(f"{name} is required", code="missing_header")
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"{name} must be a non-negative integer", code="invalid_header")
    return int(raw)


def parse_length(headers: Mapping[str, str], max_size: int) -> int:
    """``Upload-Length`` of a creation request, refused at once when over the size limit."""
    if "upload-defer-length" in headers:
        raise BadRequest("Upload-Defer-Length is not supported; send Upload-Length", code="invalid_header")
    length = parse_non_negative(headers, "Upload-Length")
    if length > max_size:
        raise PayloadTooLarge(
            f"the upload has {length} bytes; the limit is {max_size} bytes",
            headers={"Tus-Max-Size": str(max_size)},
        )
    return length


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (the value may be absent)."""
    if not value:
        return {}
    if len(value) > _MAX_METADATA_BYTES:
        raise BadRequest("Upload-Metadata is too long", code="invalid_metadata")
    out: dict[str, str] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not _METADATA_KEY.match(parts[0]) or parts[0] in out:
            raise BadRequest("Upload-Metadata is malformed", code="invalid_metadata")
        if len(parts) == 1:
            out[parts[0]] = ""
            continue
        try:
            out[parts[0]] = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BadRequest(
                f"Upload-Metadata value of {parts[0]} is not base64", code="invalid_metadata"
            ) from exc
    return out


def encode_metadata(values: Mapping[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>`` → ``(algorithm, digest)``."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise BadRequest("Upload-Checksum must be '<algorithm> <base64 digest>'", code="invalid_header")
    algorithm, encoded = parts[0].lower(), parts[1]
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(
            f"checksum algorithm {algorithm} is not supported ({', '.join(CHECKSUM_ALGORITHMS)})",
            code="checksum_algorithm_unsupported",
        )
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise BadRequest("Upload-Checksum digest is not base64", code="invalid_header") from exc
    if len(digest) != hashlib.new(algorithm, usedforsecurity=False).digest_size:
        raise BadRequest("Upload-Checksum digest has the wrong length", code="invalid_header")
    return algorithm, digest


def new_hasher(algorithm: str) -> Any:
    return hashlib.new(algorithm, usedforsecurity=False)


def check_patch_content_type(headers: Mapping[str, str]) -> None:
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != OFFSET_CONTENT_TYPE:
        raise UnsupportedMediaType(f"PATCH bodies must be {OFFSET_CONTENT_TYPE}")


def checksum_mismatch() -> TusError:
    return TusError(
        460,
        "checksum_mismatch",
        "Checksum mismatch",
        "the chunk does not match Upload-Checksum; it was discarded",
    )


def offset_mismatch(expected: int, given: int) -> TusError:
    return TusError(
        409,
        "offset_mismatch",
        "Conflict",
        f"Upload-Offset is {given} but the server has {expected} bytes; resume from {expected}",
        headers={"Upload-Offset": str(expected)},
    )
