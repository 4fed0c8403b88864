from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import socket
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from media.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    StorageError,
    content_key,
)
from media.storage import local as local_module

MIB = 1024 * 1024
CREDENTIALS = {"access_key_id": "test-key", "secret_access_key": "test-secret"}


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


_bucket_counter = iter(range(10_000))


def _new_bucket(endpoint: str) -> str:
    name = f"media-{next(_bucket_counter)}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    ).create_bucket(Bucket=name)
    return name


def _s3(endpoint: str, tmp_path: Path, **kwargs: object) -> S3Storage:
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    return S3Storage(
        _new_bucket(endpoint),
        endpoint_url=endpoint,
        spool_dir=spool,
        **CREDENTIALS,  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    return _s3(request.getfixturevalue("s3_endpoint"), tmp_path)


def _random_file(path: Path, size: int, seed: int = 0) -> Path:
    chunk = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32)
    with open(path, "wb") as f:
        remaining = size
        block = 0
        while remaining > 0:
            data = hashlib.sha256(chunk[:64] + block.to_bytes(8, "big")).digest() * (MIB // 32)
            f.write(data[: min(remaining, MIB)])
            remaining -= MIB
            block += 1
    return path


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[i : i + size]


# --- both backends ------------------------------------------------------------------------------


def test_put_file_is_content_addressed(storage: Storage, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()

    stored = run(storage.put_file(path, content_type="image/jpeg"))
    assert stored.key == f"originals/{sha[:2]}/{sha[2:4]}/{sha}"
    assert (stored.sha256, stored.size, stored.created) == (sha, len(data), True)
    assert run(storage.exists(stored.key))
    assert run(storage.size(stored.key)) == len(data)
    assert run(storage.read_bytes(stored.key)) == data


def test_second_put_of_same_content_is_a_no_op(storage: Storage, tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"original bytes" * 1000)
    first = run(storage.put_file(path))
    again = run(storage.put_file(path))
    via_stream = run(storage.put_stream(_chunks(path.read_bytes(), 777)))
    assert first.created is True
    assert again.created is False
    assert via_stream.created is False
    assert first.key == again.key == via_stream.key
    assert run(storage.read_bytes(first.key)) == path.read_bytes()


def test_put_stream_matches_put_file(storage: Storage) -> None:
    data = os.urandom(3 * MIB + 123)
    stored = run(storage.put_stream(_chunks(data, 64 * 1024), prefix="renditions"))
    assert stored.key == content_key(hashlib.sha256(data).hexdigest(), "renditions")
    assert stored.size == len(data)
    got = run(_collect(storage.iter_chunks(stored.key, chunk_size=MIB)))
    assert [len(c) for c in got[:3]] == [MIB, MIB, MIB]
    assert b"".join(got) == data


async def _collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


def test_put_bytes_and_local_path(storage: Storage) -> None:
    stored = run(storage.put_bytes(b"thumbnail bytes", prefix="thumbnails"))
    assert stored.key.startswith("thumbnails/")

    async def read_via_path() -> bytes:
        async with storage.local_path(stored.key) as path:
            return path.read_bytes()

    assert run(read_via_path()) == b"thumbnail bytes"


def test_checksum_mismatch_stores_nothing(storage: Storage, tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"payload")
    with pytest.raises(StorageError) as info:
        run(storage.put_file(path, expected_sha256="0" * 64))
    assert info.value.code == "checksum_mismatch"
    assert not run(storage.exists(content_key(hashlib.sha256(b"payload").hexdigest())))
    ok = run(storage.put_file(path, expected_sha256=hashlib.sha256(b"payload").hexdigest().upper()))
    assert ok.created


def test_missing_objects(storage: Storage) -> None:
    key = content_key("ab" * 32)
    assert run(storage.exists(key)) is False
    with pytest.raises(ObjectNotFound):
        run(storage.size(key))
    with pytest.raises(ObjectNotFound):
        run(storage.read_bytes(key))

    async def open_path() -> None:
        async with storage.local_path(key):
            pass

    with pytest.raises(ObjectNotFound):
        run(open_path())
    run(storage.delete(key))  # idempotent


def test_delete(storage: Storage) -> None:
    stored = run(storage.put_bytes(b"to be deleted"))
    run(storage.delete(stored.key))
    assert run(storage.exists(stored.key)) is False


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "originals/ab/cd/" + "ab" * 32, "Originals/ab/ab/" + "ab" * 32, ""]
)
def test_malformed_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(StorageError) as info:
        run(storage.exists(key))
    assert info.value.code == "invalid_key"


def test_bad_prefix_is_refused(storage: Storage) -> None:
    with pytest.raises(StorageError) as info:
        run(storage.put_bytes(b"x", prefix="../up"))
    assert info.value.code == "invalid_key"


def test_failing_source_leaves_no_object(storage: Storage) -> None:
    data = os.urandom(2 * MIB)

    async def broken() -> AsyncIterator[bytes]:
        yield data[:MIB]
        yield data[MIB : MIB + 10]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        run(storage.put_stream(broken()))
    assert not run(storage.exists(content_key(hashlib.sha256(data[: MIB + 10]).hexdigest())))


# --- local --------------------------------------------------------------------------------------


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_local_layout_is_read_only_and_leaves_no_temp(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    stored = run(store.put_bytes(b"hello"))
    path = tmp_path / "store" / stored.key
    assert path.read_bytes() == b"hello"
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert path.stat().st_mode & 0o222 == 0
    assert list((tmp_path / "store" / ".tmp").iterdir()) == []
    assert run(store.url(stored.key)) is None


def test_local_existing_original_is_never_rewritten(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    stored = run(store.put_bytes(b"original"))
    before = (tmp_path / "store" / stored.key).stat()
    run(store.put_bytes(b"original"))
    after = (tmp_path / "store" / stored.key).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_local_concurrent_puts_of_the_same_content(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    data = os.urandom(2 * MIB)

    async def many() -> list[bool]:
        results = await asyncio.gather(*(store.put_stream(_chunks(data, 256 * 1024)) for _ in range(6)))
        return [r.created for r in results]

    created = run(many())
    assert created.count(True) == 1
    assert len(_files_under(tmp_path / "store")) == 1


def test_local_disk_full_leaves_nothing_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tmp_path / "store")
    source = _random_file(tmp_path / "big.bin", 20 * MIB)
    written = 0
    real_write = os.write

    def filling_write(fd: int, data: bytes | memoryview) -> int:
        nonlocal written
        if written > 12 * MIB:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_write(fd, data)
        written += n
        return n

    real_copy = local_module._copy_chunk

    def filling_copy(src: int, dst: int, count: int) -> int:
        nonlocal written
        if written > 12 * MIB:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_copy(src, dst, min(count, MIB))
        written += n
        return n

    monkeypatch.setattr(local_module, "_write", filling_write)
    monkeypatch.setattr(local_module, "_copy_chunk", filling_copy)
    with pytest.raises(StorageError) as info:
        run(store.put_file(source))
    assert info.value.code == "no_space"
    assert "full" in info.value.detail
    assert _files_under(tmp_path / "store") == []

    assert written > 12 * MIB  # the failure happened mid-copy

    written = 0
    with pytest.raises(StorageError) as info:
        run(store.put_stream(_chunks(source.read_bytes(), MIB)))
    assert info.value.code == "no_space"
    assert _files_under(tmp_path / "store") == []


def test_local_real_file_size_limit_is_reported_as_no_space(tmp_path: Path) -> None:
    """The kernel refuses the write (RLIMIT_FSIZE -> EFBIG): same outcome as a full disk."""
    source = _random_file(tmp_path / "big.bin", 6 * MIB)
    script = textwrap.dedent(
        f"""
        import asyncio, resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({2 * MIB}, {2 * MIB}))
        from media.storage import LocalStorage, StorageError
        store = LocalStorage({str(tmp_path / "store")!r})
        try:
            asyncio.run(store.put_file({str(source)!r}))
        except StorageError as exc:
            print(exc.code)
            sys.exit(0)
        print("stored")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no_space"
    assert _files_under(tmp_path / "store") == []


def test_local_put_file_streams_with_flat_memory(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store", fsync=False)
    source = _random_file(tmp_path / "big.bin", 64 * MIB)
    tracemalloc.start()
    try:
        stored = run(store.put_file(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == 64 * MIB
    assert peak < 16 * MIB


def test_local_sweep_removes_stale_temp_files(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    stale = tmp_path / "store" / ".tmp" / "put-crashed"
    stale.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    fresh = tmp_path / "store" / ".tmp" / "put-running"
    fresh.write_bytes(b"partial")
    assert store.sweep_temp(older_than_s=60) == 1
    assert not stale.exists()
    assert fresh.exists()


# --- S3 -----------------------------------------------------------------------------------------


class _FailingReader:
    """A file that fails with an I/O error after ``fail_after`` bytes."""

    def __init__(self, path: Path, fail_after: int) -> None:
        self._f = open(path, "rb")  # noqa: SIM115
        self._left = fail_after

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        data = self._f.read(min(size, self._left) if size >= 0 else self._left)
        self._left -= len(data)
        return data

    def __getattr__(self, name: str) -> object:
        return getattr(self._f, name)

    def __enter__(self) -> _FailingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


def test_s3_multipart_upload_round_trip(s3_endpoint: str, tmp_path: Path) -> None:
    store = _s3(s3_endpoint, tmp_path, multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    source = _random_file(tmp_path / "big.bin", 23 * MIB, seed=3)
    stored = run(store.put_file(source, content_type="image/heic"))
    assert stored.size == 23 * MIB
    head = store.client.head_object(Bucket=store.bucket, Key=stored.key)
    assert head["ContentType"] == "image/heic"
    assert head["Metadata"]["sha256"] == stored.sha256
    assert "-" in head["ETag"]  # a multipart ETag: "<md5 of part md5s>-<parts>"

    async def digest_via_path() -> str:
        async with store.local_path(stored.key) as path:
            return hashlib.sha256(path.read_bytes()).hexdigest()

    assert run(digest_via_path()) == stored.sha256


def test_s3_failed_multipart_upload_leaves_no_object(s3_endpoint: str, tmp_path: Path) -> None:
    class Failing(S3Storage):
        def _open_for_upload(self, path: Path) -> IO[bytes]:
            return _FailingReader(path, fail_after=12 * MIB)  # type: ignore[return-value]

    store = Failing(
        _new_bucket(s3_endpoint),
        endpoint_url=s3_endpoint,
        multipart_threshold=5 * MIB,
        multipart_chunksize=5 * MIB,
        **CREDENTIALS,  # type: ignore[arg-type]
    )
    source = _random_file(tmp_path / "big.bin", 30 * MIB, seed=4)
    with pytest.raises(StorageError) as info:
        run(store.put_file(source))
    assert info.value.code == "io_error"
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    assert not run(store.exists(content_key(sha)))
    assert store.client.list_objects_v2(Bucket=store.bucket).get("KeyCount", 0) == 0
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_s3_existing_key_is_not_uploaded_again(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _s3(s3_endpoint, tmp_path)
    first = run(store.put_bytes(b"immutable original"))

    def no_upload(*args: object, **kwargs: object) -> None:
        raise AssertionError("an existing original must not be uploaded again")

    monkeypatch.setattr(store.client, "upload_fileobj", no_upload)
    again = run(store.put_bytes(b"immutable original"))
    assert (again.key, again.created) == (first.key, False)


def test_s3_spool_is_removed(s3_endpoint: str, tmp_path: Path) -> None:
    store = _s3(s3_endpoint, tmp_path)
    run(store.put_stream(_chunks(os.urandom(MIB), 4096)))

    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        run(store.put_stream(broken()))
    assert list((tmp_path / "spool").iterdir()) == []


def test_s3_presigned_url_serves_the_object(s3_endpoint: str, tmp_path: Path) -> None:
    store = _s3(s3_endpoint, tmp_path)
    stored = run(store.put_bytes(b"rendition bytes", content_type="image/jpeg"))
    url = run(store.url(stored.key, expires_in=60))
    assert url is not None
    assert url.startswith(s3_endpoint)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"rendition bytes"


def test_s3_unreachable_endpoint_is_a_backend_error(tmp_path: Path) -> None:
    store = S3Storage(
        "media",
        endpoint_url=f"http://127.0.0.1:{_free_port()}",
        **CREDENTIALS,  # type: ignore[arg-type]
    )
    store.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(StorageError) as info:
        run(store.put_bytes(b"x"))
    assert info.value.code == "backend_error"


def test_local_known_hash_of_stored_content_skips_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStorage(tmp_path / "store")
    source = tmp_path / "photo.bin"
    source.write_bytes(os.urandom(100_000))
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    run(store.put_file(source))

    def no_temp(*args: object) -> None:
        raise AssertionError("no copy expected")

    monkeypatch.setattr(local_module, "_TempFile", no_temp)
    again = run(store.put_file(source, expected_sha256=sha))
    assert (again.sha256, again.size, again.created) == (sha, 100_000, False)
    # A wrong claim about a stored key is caught from the source's bytes, still without a copy.
    other = tmp_path / "other.bin"
    other.write_bytes(b"different content")
    with pytest.raises(StorageError) as info:
        run(store.put_file(other, expected_sha256=sha))
    assert info.value.code == "checksum_mismatch"
