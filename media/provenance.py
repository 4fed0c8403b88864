"""Server signatures on issued renditions, and verification of a file someone presents.

What is signed
    A rendition is a JPEG produced by the server (``media.watermark``). Its *content* is the exact
    JPEG bytes without our provenance segment. ``content_sha256 = sha256(content)`` goes into a
    small payload (media id, visit id, rep id, issued_at, lat, lon), which is signed with the
    server's Ed25519 key as a JWS (RFC 7515 compact form, ``alg: EdDSA``, ``kid`` = key id). The
    token is then inserted as one APP15 segment (``fieldline-provenance/1\\0`` + token) right
    after SOI (and the JFIF APP0, if any). Removing that segment gives back the content bytes
    exactly, so anyone holding the public key can check file and token offline.

The record is the source of truth
    The same token plus ``file_sha256`` (hash of the issued file, segment included) and
    ``content_sha256`` is stored server-side (:class:`ProvenanceRecord`). :func:`verify` looks the
    presented file up by both hashes and is authentic only when the presented bytes are exactly the
    issued file *and* the stored token verifies. Consequences:

    - one changed pixel, a re-encode or a resize: no record matches, ``not_issued`` (or ``altered``
      when a valid token was copied along onto changed content);
    - metadata stripped by a re-save that kept the bytes otherwise, or a token edited or swapped:
      the content hash still finds the record, but the file is not the issued one
      (``metadata_stripped`` / ``metadata_altered``), so not authentic;
    - a token that verifies but has no record (deleted, or content never issued) is not authentic.

C2PA
    C2PA Content Credentials (``c2pa-python``) is the interoperable next step: third parties can
    verify a standard manifest with standard tools. It is not the primary mechanism because the
    manifest does not survive a re-save (a Pillow re-encode drops it, ``ManifestNotFound``), it adds
    ~105 KB per JPEG (certificate chain + embedded thumbnail), the native wheel is ~53 MB, and
    trust needs a certificate chain rather than one key. Both measured in the media research. The
    hash record above is needed either way; a C2PA manifest can be embedded alongside later.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEGMENT_MARKER: Final = 0xEF  # APP15
SEGMENT_ID: Final = b"fieldline-provenance/1\x00"
PAYLOAD_VERSION: Final = 1
_JWS_HEADER_TYPE: Final = "fieldline-provenance+jws"


class ProvenanceError(ValueError):
    """The input cannot carry provenance (not a JPEG, or a malformed segment structure)."""


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """The server's signing key with its key id (rotate by adding a new id; keep old public keys)."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        if not key_id or "." in key_id:
            raise ValueError("key id must be non-empty and contain no dot")
        self.key_id = key_id
        self._key = private_key

    @classmethod
    def generate(cls, key_id: str) -> Signer:
        return cls(key_id, Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, key_id: str, pem: bytes, password: bytes | None = None) -> Signer:
        key = serialization.load_pem_private_key(pem, password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("provenance keys must be Ed25519")
        return cls(key_id, key)

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK (RFC 8037), for publishing to third-party verifiers."""
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": self.key_id, "use": "sig"}

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Public keys by key id: every key that ever signed a rendition still in circulation."""

    keys: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)

    @classmethod
    def of(cls, *signers: Signer) -> KeyRing:
        return cls({s.key_id: s.public_key for s in signers})

    @classmethod
    def from_public_pems(cls, pems: Mapping[str, bytes]) -> KeyRing:
        keys: dict[str, Ed25519PublicKey] = {}
        for key_id, pem in pems.items():
            key = serialization.load_pem_public_key(pem)
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError(f"key {key_id} is not Ed25519")
            keys[key_id] = key
        return cls(keys)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvenanceClaims:
    """What the server asserts about a rendition it issues."""

    media_id: str
    visit_id: str
    rep_id: str
    issued_at: datetime  # timezone-aware server time
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class ProvenanceRecord:
    """Server-side row for one issued rendition; index both hashes."""

    media_id: str
    key_id: str
    file_sha256: str  # the issued file, provenance segment included
    content_sha256: str  # the file without the provenance segment (what the token signs)
    token: str  # JWS compact serialisation


@dataclass(frozen=True, slots=True)
class SignedRendition:
    data: bytes
    record: ProvenanceRecord


@dataclass(frozen=True, slots=True)
class Inspection:
    """What can be learnt from presented bytes alone, before any lookup."""

    file_sha256: str
    content_sha256: str
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Verdict on a presented file. ``authentic`` is the answer; ``reason`` says why.

    Reasons: ``verified``; ``not_issued`` (no record, no token); ``altered`` (a valid token for
    other content); ``metadata_stripped`` / ``metadata_altered`` (content of an issued rendition,
    but its provenance segment removed / changed); ``no_record`` (valid token, content intact, but
    the server has no record); ``signature_invalid`` (token does not verify, no record);
    ``record_invalid`` (the stored record does not verify: investigate).

    Provenance fields are filled whenever a server record was identified and its token verified,
    also when ``authentic`` is false (e.g. ``metadata_stripped``).
    """

    authentic: bool
    reason: str
    media_id: str | None = None
    visit_id: str | None = None
    rep_id: str | None = None
    issued_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    key_id: str | None = None


# ---------------------------------------------------------------------------------------------
# JPEG segment handling
# ---------------------------------------------------------------------------------------------


def _segments_before_scan(data: bytes) -> list[tuple[int, int, int]]:
    """``(marker, start, end)`` of every length-carrying segment between SOI and SOS."""
    if not data.startswith(b"\xff\xd8"):
        raise ProvenanceError("not a JPEG")
    out: list[tuple[int, int, int]] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ProvenanceError("JPEG marker expected")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xDA, 0xD9):
            return out
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ProvenanceError("JPEG segment runs past the end of the file")
        out.append((marker, pos, end))
        pos = end
    raise ProvenanceError("JPEG has no image data")


def _is_ours(data: bytes, marker: int, start: int) -> bool:
    return marker == SEGMENT_MARKER and data.startswith(SEGMENT_ID, start + 4)


def split_provenance(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """Return the content bytes (all our segments removed) and the tokens found, in file order."""
    segments = _segments_before_scan(data)
    ours = [(start, end) for marker, start, end in segments if _is_ours(data, marker, start)]
    if not ours:
        return data, ()
    tokens = tuple(data[start + 4 + len(SEGMENT_ID) : end].decode("ascii", "replace") for start, end in ours)
    pieces: list[bytes] = []
    pos = 0
    for start, end in ours:
        pieces.append(data[pos:start])
        pos = end
    pieces.append(data[pos:])
    return b"".join(pieces), tokens


def embed_token(content: bytes, token: str) -> bytes:
    """Insert one provenance segment after SOI (after the JFIF APP0 if that comes first)."""
    segments = _segments_before_scan(content)
    if any(_is_ours(content, marker, start) for marker, start, _ in segments):
        raise ProvenanceError("content already carries a provenance segment")
    body = SEGMENT_ID + token.encode("ascii")
    if len(body) + 2 > 0xFFFF:
        raise ProvenanceError("provenance token too large for one segment")
    segment = bytes([0xFF, SEGMENT_MARKER]) + (len(body) + 2).to_bytes(2, "big") + body
    at = segments[0][2] if segments and segments[0][0] == 0xE0 else 2
    return content[:at] + segment + content[at:]


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def make_token(claims: ProvenanceClaims, content_sha256: str, signer: Signer) -> str:
    header = {"alg": "EdDSA", "kid": signer.key_id, "typ": _JWS_HEADER_TYPE}
    payload = {
        "v": PAYLOAD_VERSION,
        "media_id": claims.media_id,
        "visit_id": claims.visit_id,
        "rep_id": claims.rep_id,
        "issued_at": _iso(claims.issued_at),
        "lat": claims.lat,
        "lon": claims.lon,
        "content_sha256": content_sha256,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
        for part in (header, payload)
    )
    return f"{signing_input}.{_b64url(signer.sign(signing_input.encode('ascii')))}"


def read_token(token: str, keys: KeyRing) -> tuple[str, dict[str, Any]] | None:
    """Verify a token; return ``(key_id, payload)`` or ``None`` if it is malformed or does not verify."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        key = keys.keys.get(header.get("kid", ""))
        if header.get("alg") != "EdDSA" or key is None:
            return None
        key.verify(_b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode("ascii"))
        payload = json.loads(_b64url_decode(payload_b64))
    except (ValueError, binascii.Error, InvalidSignature, AttributeError, UnicodeError):
        return None
    if not isinstance(payload, dict) or payload.get("v") != PAYLOAD_VERSION:
        return None
    return header["kid"], payload


# ---------------------------------------------------------------------------------------------
# Issue and verify
# ---------------------------------------------------------------------------------------------


def sign_rendition(jpeg: bytes, claims: ProvenanceClaims, signer: Signer) -> SignedRendition:
    """Sign a rendition: hash its bytes, make the token, embed it, and build the server record."""
    content_sha256 = hashlib.sha256(jpeg).hexdigest()
    token = make_token(claims, content_sha256, signer)
    data = embed_token(jpeg, token)
    record = ProvenanceRecord(
        media_id=claims.media_id,
        key_id=signer.key_id,
        file_sha256=hashlib.sha256(data).hexdigest(),
        content_sha256=content_sha256,
        token=token,
    )
    return SignedRendition(data, record)


def inspect(data: bytes) -> Inspection:
    """Hash presented bytes and pull out any provenance tokens (no lookup, no key needed)."""
    file_sha256 = hashlib.sha256(data).hexdigest()
    try:
        content, tokens = split_provenance(data)
    except ProvenanceError:
        return Inspection(file_sha256, file_sha256, ())
    content_sha256 = file_sha256 if not tokens else hashlib.sha256(content).hexdigest()
    return Inspection(file_sha256, content_sha256, tokens)


def _result(authentic: bool, reason: str, key_id: str, payload: Mapping[str, Any]) -> VerificationResult:
    issued_at = payload.get("issued_at")
    return VerificationResult(
        authentic=authentic,
        reason=reason,
        media_id=payload.get("media_id"),
        visit_id=payload.get("visit_id"),
        rep_id=payload.get("rep_id"),
        issued_at=datetime.fromisoformat(issued_at) if isinstance(issued_at, str) else None,
        lat=payload.get("lat"),
        lon=payload.get("lon"),
        key_id=key_id,
    )


def judge(inspection: Inspection, record: ProvenanceRecord | None, keys: KeyRing) -> VerificationResult:
    """Decide from an inspection and the record the lookup found (if any)."""
    if record is None:
        if not inspection.tokens:
            return VerificationResult(False, "not_issued")
        for token in inspection.tokens:
            read = read_token(token, keys)
            if read is None:
                continue
            same_content = read[1].get("content_sha256") == inspection.content_sha256
            return VerificationResult(False, "no_record" if same_content else "altered")
        return VerificationResult(False, "signature_invalid")

    read = read_token(record.token, keys)
    if (
        read is None
        or read[0] != record.key_id
        or read[1].get("content_sha256") != record.content_sha256
        or read[1].get("media_id") != record.media_id
    ):
        return VerificationResult(False, "record_invalid")
    key_id, payload = read
    if inspection.file_sha256 == record.file_sha256:
        return _result(True, "verified", key_id, payload)
    if inspection.content_sha256 == record.content_sha256:
        reason = "metadata_altered" if inspection.tokens else "metadata_stripped"
        return _result(False, reason, key_id, payload)
    return VerificationResult(False, "altered")


def _hashes(inspection: Inspection) -> Iterable[str]:
    yield inspection.file_sha256
    if inspection.content_sha256 != inspection.file_sha256:
        yield inspection.content_sha256


Lookup = Callable[[str], ProvenanceRecord | None]
AsyncLookup = Callable[[str], Awaitable[ProvenanceRecord | None]]


def verify(data: bytes, lookup: Lookup, keys: KeyRing) -> VerificationResult:
    """Verify presented bytes. ``lookup(sha256_hex)`` returns the record whose ``file_sha256`` or
    ``content_sha256`` equals the hash, or ``None``; it is tried with the file hash first."""
    inspection = inspect(data)
    for digest in _hashes(inspection):
        record = lookup(digest)
        if record is not None:
            return judge(inspection, record, keys)
    return judge(inspection, None, keys)


async def verify_async(data: bytes, lookup: AsyncLookup, keys: KeyRing) -> VerificationResult:
    """:func:`verify` for an async lookup (database); hashing runs in a worker thread."""
    inspection = await asyncio.to_thread(inspect, data)
    for digest in _hashes(inspection):
        record = await lookup(digest)
        if record is not None:
            return judge(inspection, record, keys)
    return judge(inspection, None, keys)
