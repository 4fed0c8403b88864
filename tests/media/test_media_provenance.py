from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from dataclasses import replace
from datetime import UTC, datetime

import mediagen as gen
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image

from media import provenance as prov
from media.watermark import WatermarkStamp, render_watermarked

ISSUED = datetime(2024, 5, 6, 6, 23, 5, tzinfo=UTC)
CLAIMS = prov.ProvenanceClaims(
    media_id="m-0001", visit_id="v-0042", rep_id="r-0007", issued_at=ISSUED, lat=31.230416, lon=121.473701
)


class Registry:
    """An in-memory stand-in for the provenance table, indexed by both hashes."""

    def __init__(self) -> None:
        self.records: list[prov.ProvenanceRecord] = []

    def add(self, record: prov.ProvenanceRecord) -> None:
        self.records.append(record)

    def lookup(self, digest: str) -> prov.ProvenanceRecord | None:
        return next((r for r in self.records if digest in (r.file_sha256, r.content_sha256)), None)


@pytest.fixture(scope="module")
def signer() -> prov.Signer:
    return prov.Signer.generate("k2024")


@pytest.fixture(scope="module")
def keys(signer: prov.Signer) -> prov.KeyRing:
    return prov.KeyRing.of(signer)


@pytest.fixture(scope="module")
def rendition() -> bytes:
    stamp = WatermarkStamp(ISSUED, "Asia/Shanghai", 31.230416, 121.473701, "上海华联超市", "张伟", "v-0042")
    return render_watermarked(gen.photo_like(800, 600, seed=31), stamp)


Issued = tuple[prov.SignedRendition, Registry]


@pytest.fixture
def issued(rendition: bytes, signer: prov.Signer) -> tuple[prov.SignedRendition, Registry]:
    signed = prov.sign_rendition(rendition, CLAIMS, signer)
    registry = Registry()
    registry.add(signed.record)
    return signed, registry


def _reencode(data: bytes, **params: object) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, "JPEG", **params)
    return out.getvalue()


def test_issued_rendition_verifies(issued: Issued, keys: prov.KeyRing) -> None:
    signed, registry = issued
    result = prov.verify(signed.data, registry.lookup, keys)
    assert result.authentic is True
    assert result.reason == "verified"
    assert (result.media_id, result.visit_id, result.rep_id) == ("m-0001", "v-0042", "r-0007")
    assert result.issued_at == ISSUED
    assert (result.lat, result.lon) == (31.230416, 121.473701)
    assert result.key_id == "k2024"


def test_record_hashes_are_what_they_claim(issued: Issued, rendition: bytes) -> None:
    signed, _ = issued
    assert signed.record.file_sha256 == hashlib.sha256(signed.data).hexdigest()
    assert signed.record.content_sha256 == hashlib.sha256(rendition).hexdigest()


def test_embedding_is_reversible_and_still_a_valid_jpeg(issued: Issued, rendition: bytes) -> None:
    signed, _ = issued
    content, tokens = prov.split_provenance(signed.data)
    assert content == rendition
    assert tokens == (signed.record.token,)
    assert len(signed.data) - len(rendition) < 1024
    with Image.open(io.BytesIO(signed.data)) as reopened:
        reopened.load()
        assert reopened.size == (800, 600)


def test_token_is_a_standard_jws_that_a_third_party_can_check(issued: Issued, signer: prov.Signer) -> None:
    signed, _ = issued
    header_b64, payload_b64, signature_b64 = signed.record.token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    header = json.loads(base64.urlsafe_b64decode(pad(header_b64)))
    payload = json.loads(base64.urlsafe_b64decode(pad(payload_b64)))
    assert header == {"alg": "EdDSA", "kid": "k2024", "typ": "fieldline-provenance+jws"}
    assert payload["issued_at"] == "2024-05-06T06:23:05Z"
    assert payload["content_sha256"] == signed.record.content_sha256
    # Verify with only the published JWK, as an outside verifier would.
    jwk = signer.public_jwk()
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(pad(jwk["x"])))
    public.verify(base64.urlsafe_b64decode(pad(signature_b64)), f"{header_b64}.{payload_b64}".encode())


def test_one_changed_pixel_does_not_verify(issued: Issued, keys: prov.KeyRing) -> None:
    signed, registry = issued
    image = Image.open(io.BytesIO(signed.data)).convert("RGB")
    r, g, b = image.getpixel((10, 10))
    image.putpixel((10, 10), ((r + 128) % 256, g, b))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    result = prov.verify(out.getvalue(), registry.lookup, keys)
    assert (result.authentic, result.reason, result.media_id) == (False, "not_issued", None)


def test_changed_pixel_with_token_copied_back_is_altered(issued: Issued, keys: prov.KeyRing) -> None:
    signed, registry = issued
    content, (token,) = prov.split_provenance(signed.data)
    image = Image.open(io.BytesIO(content))
    image.putpixel((5, 5), (0, 0, 0))
    forged = prov.embed_token(_reencode_image(image), token)
    result = prov.verify(forged, registry.lookup, keys)
    assert (result.authentic, result.reason) == (False, "altered")


def _reencode_image(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_flipped_byte_in_image_data_does_not_verify(issued: Issued, keys: prov.KeyRing) -> None:
    signed, registry = issued
    data = bytearray(signed.data)
    data[len(data) - 500] ^= 0x01
    result = prov.verify(bytes(data), registry.lookup, keys)
    assert (result.authentic, result.reason) == (False, "altered")


@pytest.mark.parametrize("params", [{"quality": 95}, {"quality": 70}, {"quality": 85, "optimize": True}])
def test_reencoded_copy_does_not_verify(
    issued: Issued, keys: prov.KeyRing, params: dict[str, object]
) -> None:
    signed, registry = issued
    result = prov.verify(_reencode(signed.data, **params), registry.lookup, keys)
    assert result.authentic is False
    assert result.reason == "not_issued"


def test_stripped_metadata_does_not_verify_but_is_recognised(
    issued: Issued, keys: prov.KeyRing, rendition: bytes
) -> None:
    signed, registry = issued
    stripped, _ = prov.split_provenance(signed.data)
    result = prov.verify(stripped, registry.lookup, keys)
    assert (result.authentic, result.reason) == (False, "metadata_stripped")
    assert result.media_id == "m-0001"  # the record was found through the content hash


def test_altered_metadata_does_not_verify(issued: Issued, keys: prov.KeyRing) -> None:
    signed, registry = issued
    content, (token,) = prov.split_provenance(signed.data)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["lat"] = 39.9
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = prov.embed_token(content, f"{header}.{forged_payload}.{signature}")
    assert len(forged) != len(signed.data) or forged != signed.data
    result = prov.verify(forged, registry.lookup, keys)
    assert (result.authentic, result.reason) == (False, "metadata_altered")
    assert result.lat == 31.230416  # what the server signed, not what the file now says


def test_token_from_another_rendition_does_not_verify(
    issued: Issued, keys: prov.KeyRing, signer: prov.Signer
) -> None:
    signed, registry = issued
    other = render_watermarked(
        gen.photo_like(800, 600, seed=32),
        WatermarkStamp(ISSUED, "UTC", 1.0, 2.0, "Other", "Rep", "v-0043"),
    )
    _, (token,) = prov.split_provenance(signed.data)
    forged = prov.embed_token(other, token)
    result = prov.verify(forged, registry.lookup, keys)
    assert (result.authentic, result.reason) == (False, "altered")


def test_valid_token_without_a_record_is_not_authentic(issued: Issued, keys: prov.KeyRing) -> None:
    signed, _ = issued
    result = prov.verify(signed.data, Registry().lookup, keys)
    assert (result.authentic, result.reason) == (False, "no_record")


def test_token_signed_by_an_unknown_key(rendition: bytes) -> None:
    rogue = prov.Signer.generate("k2024")
    signed = prov.sign_rendition(rendition, CLAIMS, rogue)
    result = prov.verify(signed.data, Registry().lookup, prov.KeyRing.of(prov.Signer.generate("k2024")))
    assert (result.authentic, result.reason) == (False, "signature_invalid")


def test_tampered_server_record_is_flagged(issued: Issued, keys: prov.KeyRing) -> None:
    signed, _ = issued
    registry = Registry()
    registry.add(replace(signed.record, media_id="m-9999"))
    result = prov.verify(signed.data, registry.lookup, keys)
    assert (result.authentic, result.reason) == (False, "record_invalid")


def test_key_rotation_keeps_old_renditions_valid(rendition: bytes) -> None:
    old, new = prov.Signer.generate("k1"), prov.Signer.generate("k2")
    registry = Registry()
    first = prov.sign_rendition(rendition, CLAIMS, old)
    second = prov.sign_rendition(rendition, replace(CLAIMS, media_id="m-0002"), new)
    registry.add(first.record)
    registry.add(second.record)
    ring = prov.KeyRing.from_public_pems({s.key_id: s.public_key.public_bytes(*_spki()) for s in (old, new)})
    assert prov.verify(first.data, registry.lookup, ring).authentic
    assert prov.verify(second.data, registry.lookup, ring).authentic
    assert not prov.verify(first.data, registry.lookup, prov.KeyRing.of(new)).authentic


def _spki() -> tuple[serialization.Encoding, serialization.PublicFormat]:
    return serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo


def test_signer_round_trips_through_pem(rendition: bytes) -> None:
    signer = prov.Signer.generate("k9")
    again = prov.Signer.from_pem("k9", signer.private_pem())
    signed = prov.sign_rendition(rendition, CLAIMS, signer)
    registry = Registry()
    registry.add(signed.record)
    assert prov.verify(signed.data, registry.lookup, prov.KeyRing.of(again)).authentic


def test_non_jpeg_input_is_simply_not_issued(keys: prov.KeyRing) -> None:
    png = gen.encode(gen.photo_like(64, 48), "PNG")
    assert prov.verify(png, Registry().lookup, keys).reason == "not_issued"
    assert prov.verify(b"", Registry().lookup, keys).reason == "not_issued"
    with pytest.raises(prov.ProvenanceError):
        prov.sign_rendition(png, CLAIMS, prov.Signer.generate("k"))


def test_signing_twice_is_refused(issued: Issued, signer: prov.Signer) -> None:
    signed, _ = issued
    with pytest.raises(prov.ProvenanceError, match="already"):
        prov.sign_rendition(signed.data, CLAIMS, signer)


def test_naive_issue_time_is_refused(rendition: bytes, signer: prov.Signer) -> None:
    with pytest.raises(ValueError, match="aware"):
        prov.sign_rendition(rendition, replace(CLAIMS, issued_at=datetime(2024, 1, 1)), signer)


def test_async_lookup(issued: Issued, keys: prov.KeyRing) -> None:
    signed, registry = issued
    calls: list[str] = []

    async def lookup(digest: str) -> prov.ProvenanceRecord | None:
        calls.append(digest)
        return registry.lookup(digest)

    stripped, _ = prov.split_provenance(signed.data)
    assert asyncio.run(prov.verify_async(signed.data, lookup, keys)).authentic
    assert asyncio.run(prov.verify_async(stripped, lookup, keys)).reason == "metadata_stripped"
    assert calls[0] == signed.record.file_sha256


def test_only_ed25519_keys_are_accepted() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        prov.Signer.from_pem("k", pem)
    with pytest.raises(ValueError, match="key id"):
        prov.Signer.generate("a.b")
