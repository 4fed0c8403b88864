"""S3-compatible storage (AWS S3, MinIO, Ceph RGW, ...) through boto3, in worker threads.

A put hashes the file first (the key is its SHA-256), checks whether the key exists (then it is a
no-op: originals are never rewritten), and uploads with boto3's transfer manager: multipart above
``multipart_threshold``, parts uploaded in parallel, and the multipart upload aborted on any
failure, so a failed put leaves no object (S3 only shows an object once it is complete).
Streams are first spooled to a local temporary file, hashing as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any, Final, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media.storage.base import (
    CHUNK_SIZE,
    DEFAULT_PREFIX,
    ObjectNotFound,
    Storage,
    StorageError,
    StoredObject,
    check_key,
    content_key,
    os_error,
)

MIB: Final = 1024 * 1024
_HASH_BUFFER: Final = 8 * MIB


T = TypeVar("T")


async def _guarded(action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking local I/O in a thread, mapping ``OSError`` to :class:`StorageError`."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except OSError as exc:
        raise os_error(exc, action) from exc


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(_HASH_BUFFER)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def _is_missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        client: Any = None,
        multipart_threshold: int = 16 * MIB,
        multipart_chunksize: int = 16 * MIB,
        max_concurrency: int = 4,
        spool_dir: str | Path | None = None,
    ) -> None:
        self.bucket = bucket
        self.spool_dir = Path(spool_dir) if spool_dir is not None else None
        self._client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region_name or "us-east-1",
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            config=Config(
                signature_version="s3v4",
                retries={"mode": "standard", "max_attempts": 3},
                s3={"addressing_style": "path"} if endpoint_url else {},
                # Ask S3 for checksums only where the operation requires one.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=max_concurrency,
            use_threads=True,
        )

    @property
    def client(self) -> Any:
        return self._client

    # -- helpers ------------------------------------------------------------------------------

    def _backend_error(self, exc: Exception, action: str) -> StorageError:
        if isinstance(exc, OSError):
            return os_error(exc, action)
        return StorageError("backend_error", f"object store error while {action}: {type(exc).__name__}")

    def _exists_sync(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def _open_for_upload(self, path: Path) -> IO[bytes]:
        return open(path, "rb")

    def _put_file_sync(
        self, path: Path, prefix: str, expected_sha256: str | None, content_type: str | None
    ) -> StoredObject:
        content_key("0" * 64, prefix)
        try:
            sha, size = _sha256_file(path)
        except OSError as exc:
            raise os_error(exc, "reading the upload") from exc
        if expected_sha256 is not None and expected_sha256.lower() != sha:
            raise StorageError("checksum_mismatch", "the content does not match the expected SHA-256")
        key = content_key(sha, prefix)
        try:
            if self._exists_sync(key):
                return StoredObject(key, sha, size, created=False)
            extra: dict[str, Any] = {"Metadata": {"sha256": sha}}
            if content_type:
                extra["ContentType"] = content_type
            with self._open_for_upload(path) as source:
                self._client.upload_fileobj(source, self.bucket, key, ExtraArgs=extra, Config=self._transfer)
        except (ClientError, BotoCoreError, OSError) as exc:
            self._abort_pending(key)
            raise self._backend_error(exc, "uploading an object") from exc
        return StoredObject(key, sha, size, created=True)

    def _abort_pending(self, key: str) -> None:
        """Abort multipart uploads left for ``key`` (the transfer manager normally has)."""
        with contextlib.suppress(ClientError, BotoCoreError):
            listing = self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            for upload in listing.get("Uploads", []):
                if upload.get("Key") == key:
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
                    )

    # -- Storage ------------------------------------------------------------------------------

    async def put_file(
        self,
        path: str | Path,
        *,
        prefix: str = DEFAULT_PREFIX,
        expected_sha256: str | None = None,
        content_type: str | None = None,
    ) -> StoredObject:
        return await asyncio.to_thread(self._put_file_sync, Path(path), prefix, expected_sha256, content_type)

    async def put_stream(
        self,
        chunks: AsyncIterable[bytes],
        *,
        prefix: str = DEFAULT_PREFIX,
        expected_sha256: str | None = None,
        content_type: str | None = None,
    ) -> StoredObject:
        content_key("0" * 64, prefix)
        fd, name = await _guarded(
            "spooling an upload", tempfile.mkstemp, dir=self.spool_dir, prefix="s3-spool-"
        )
        spool = Path(name)
        try:
            handle = os.fdopen(fd, "wb")
            try:
                async for chunk in chunks:  # errors of the source propagate unchanged
                    await _guarded("spooling an upload", handle.write, chunk)
            finally:
                await _guarded("spooling an upload", handle.close)
            return await self.put_file(
                spool, prefix=prefix, expected_sha256=expected_sha256, content_type=content_type
            )
        finally:
            await asyncio.to_thread(spool.unlink, missing_ok=True)

    async def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        check_key(key)
        try:
            response = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectNotFound(key) from None
            raise self._backend_error(exc, "reading an object") from exc
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, chunk_size):
                yield chunk
        except (BotoCoreError, OSError) as exc:
            raise self._backend_error(exc, "reading an object") from exc
        finally:
            await asyncio.to_thread(body.close)

    @asynccontextmanager
    async def local_path(self, key: str) -> AsyncIterator[Path]:
        check_key(key)
        fd, name = await asyncio.to_thread(tempfile.mkstemp, dir=self.spool_dir, prefix="s3-get-")
        os.close(fd)
        path = Path(name)
        try:
            try:
                await asyncio.to_thread(
                    self._client.download_file, self.bucket, key, name, Config=self._transfer
                )
            except ClientError as exc:
                if _is_missing(exc):
                    raise ObjectNotFound(key) from None
                raise self._backend_error(exc, "downloading an object") from exc
            except (BotoCoreError, OSError) as exc:
                raise self._backend_error(exc, "downloading an object") from exc
            yield path
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            return await asyncio.to_thread(self._exists_sync, key)
        except (ClientError, BotoCoreError) as exc:
            raise self._backend_error(exc, "checking an object") from exc

    async def size(self, key: str) -> int:
        check_key(key)
        try:
            head = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectNotFound(key) from None
            raise self._backend_error(exc, "checking an object") from exc
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._backend_error(exc, "deleting an object") from exc

    async def url(self, key: str, expires_in: int = 900) -> str | None:
        check_key(key)
        return await asyncio.to_thread(
            self._client.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=expires_in,
        )
