"""The media services a process builds once from its settings: storage, signing key, limits.

The API builds them in its lifespan (``app.state.media``) and hands the same objects to its
in-process job worker; ``fieldline worker`` processes build their own from the same settings.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.settings import Settings
from media.provenance import KeyRing, Signer
from media.storage import LocalStorage, S3Storage, Storage
from media.validate import MediaLimits

#: Where a development signing key is generated when none is configured.
DEV_KEY_NAME = "provenance_key.pem"


@dataclass(frozen=True)
class MediaRuntime:
    storage: Storage
    signer: Signer
    keys: KeyRing
    limits: MediaLimits
    upload_dir: Path
    upload_expiry_s: int


def build_storage(settings: Settings) -> Storage:
    """``FIELDLINE_STORAGE=local`` (files under the media root) or ``s3`` (bucket + endpoint;
    credentials come from the usual AWS variables or the instance role)."""
    if settings.storage == "local":
        return LocalStorage(settings.media_root)
    if settings.storage == "s3":
        spool = settings.upload_path / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            spool_dir=spool,
        )
    raise ValueError(f"FIELDLINE_STORAGE must be 'local' or 's3', not {settings.storage!r}")


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A key's id: the first 16 hex digits of the SHA-256 of its raw public bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _generate_dev_key(path: Path) -> None:
    """Create the key file once (exclusive create: concurrent starts keep the first key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Signer.generate("dev").private_pem()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def load_signer(settings: Settings) -> Signer:
    """The rendition signing key: ``FIELDLINE_PROVENANCE_KEY_FILE`` (PKCS#8 PEM, Ed25519).

    In development a key is generated into ``var/provenance_key.pem`` on first use; in production
    the setting is required, since renditions signed by a lost key can no longer be verified.
    """
    path = settings.provenance_key_file
    if path is None:
        if settings.is_production:
            raise RuntimeError("FIELDLINE_PROVENANCE_KEY_FILE must be set when FIELDLINE_ENV=production")
        path = settings.var_dir / DEV_KEY_NAME
        if not path.exists():
            _generate_dev_key(path)
    pem = path.read_bytes()
    probe = Signer.from_pem("probe", pem)
    return Signer.from_pem(key_id_of(probe.public_key), pem)


def load_keys(settings: Settings, signer: Signer) -> KeyRing:
    """The current key plus retired public keys (``FIELDLINE_PROVENANCE_RETIRED_KEYS``), so
    renditions signed before a key rotation still verify."""
    keys: dict[str, Ed25519PublicKey] = {signer.key_id: signer.public_key}
    for path in settings.provenance_retired_keys:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key")
        keys[key_id_of(key)] = key
    return KeyRing(keys)


def build_media_runtime(settings: Settings, storage: Storage | None = None) -> MediaRuntime:
    signer = load_signer(settings)
    upload_dir = settings.upload_path
    upload_dir.mkdir(parents=True, exist_ok=True)
    return MediaRuntime(
        storage=storage or build_storage(settings),
        signer=signer,
        keys=load_keys(settings, signer),
        limits=MediaLimits(max_bytes=settings.max_upload_bytes, max_pixels=settings.max_upload_pixels),
        upload_dir=upload_dir,
        upload_expiry_s=settings.upload_expiry_s,
    )


def worker_services(settings: Settings, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """``storage`` and ``media`` for a job worker, reusing what the caller already built."""
    services = dict(given or {})
    if "media" not in services:
        services["media"] = build_media_runtime(settings, services.get("storage"))
    services.setdefault("storage", services["media"].storage)
    return services
