"""Process services built from settings: the storage backend and the rendition signing key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from api.media.runtime import build_media_runtime, build_storage, load_keys, load_signer
from api.settings import Settings
from media.provenance import Signer
from media.storage import LocalStorage, S3Storage


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(env=kw.pop("env", "development"), var_dir=tmp_path, media_root=tmp_path / "media", **kw)  # type: ignore[arg-type]


def test_storage_backend_follows_the_setting(tmp_path: Path) -> None:
    assert isinstance(build_storage(_settings(tmp_path)), LocalStorage)
    s3 = build_storage(_settings(tmp_path, storage="s3", s3_bucket="b", s3_endpoint_url="http://127.0.0.1:9"))
    assert isinstance(s3, S3Storage)
    assert s3.bucket == "b"
    with pytest.raises(ValueError, match="local"):
        build_storage(_settings(tmp_path, storage="ftp"))


def test_development_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_signer(_settings(tmp_path))
    second = load_signer(_settings(tmp_path))
    assert first.key_id == second.key_id
    key_file = tmp_path / "provenance_key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    runtime = build_media_runtime(_settings(tmp_path))
    assert runtime.signer.key_id == first.key_id
    assert runtime.upload_dir == tmp_path / "uploads"


def test_production_requires_a_configured_key(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="FIELDLINE_PROVENANCE_KEY_FILE"):
        load_signer(_settings(tmp_path, env="production"))
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(Signer.generate("x").private_pem())
    signer = load_signer(_settings(tmp_path, env="production", provenance_key_file=key_file))
    assert not (tmp_path / "provenance_key.pem").exists()
    # Renditions signed with a retired key still verify once its public key is listed.
    retired = Signer.generate("old")
    public = tmp_path / "old.pub.pem"
    public.write_bytes(
        retired.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    ring = load_keys(_settings(tmp_path, provenance_retired_keys=(public,)), signer)
    assert len(ring.keys) == 2
    assert signer.key_id in ring.keys
