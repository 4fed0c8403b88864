"""The same upload → rendition → delivery path with S3 storage (a moto S3 server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.media.test_media_storage import CREDENTIALS, s3_endpoint  # noqa: F401  (fixture)
from tests.media_api.conftest import (
    MAX_BYTES,
    MAX_PIXELS,
    at_visit,
    drain,
    new_visit,
    rep,
    sha256,
    upload_photo,
)

BUCKET = "fieldline-media-api"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    from api.settings import Settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["secret_access_key"])
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    s3.create_bucket(Bucket=BUCKET)
    return Settings(
        env="test",
        var_dir=tmp_path,
        database_url=db_url,
        secret_key="test-secret-" + "x" * 40,
        media_root=tmp_path / "unused-local-media",
        storage="s3",
        s3_bucket=BUCKET,
        s3_endpoint_url=s3_endpoint,
        run_worker=False,
        max_upload_bytes=MAX_BYTES,
        max_upload_pixels=MAX_PIXELS,
    )


async def test_photo_through_s3_storage(client, world, worker, settings) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    data = at_visit(120)
    media_id = await upload_photo(client, h, vid, data)
    assert await drain(worker) == 1
    original = await client.get(f"/v1/media/{media_id}/original", headers=h)
    assert original.status_code == 200
    assert sha256(original.content) == sha256(data)
    rendition = await client.get(f"/v1/media/{media_id}", headers=h)
    assert rendition.status_code == 200
    verdict = await client.post(
        "/v1/media/verify", headers=h, files={"file": ("r.jpg", rendition.content, "image/jpeg")}
    )
    assert verdict.json()["authentic"] is True
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert [k.split("/")[0] for k in keys] == ["originals", "renditions", "thumbnails"]
    assert f"originals/{sha256(data)[:2]}/{sha256(data)[2:4]}/{sha256(data)}" in keys
    assert (
        f"renditions/{sha256(rendition.content)[:2]}/{sha256(rendition.content)[2:4]}/{sha256(rendition.content)}"
        in keys
    )
    assert not settings.media_root.exists()  # nothing went to local storage
