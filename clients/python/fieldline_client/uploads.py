"""Resumable uploads over tus 1.0 (core, creation, checksum, termination) at ``/v1/uploads``.

An upload is recorded in storage before the first byte leaves the device: the source (a file path,
or the bytes themselves), the metadata, and once created the upload URL. After a network cut or an
app restart, :meth:`Uploader.resume_all` asks the server for its offset (``HEAD``) and sends the
rest; each ``PATCH`` carries ``Upload-Checksum: sha1 …`` so a corrupted chunk is refused (``460``)
and sent again rather than stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from fieldline_client.errors import FieldlineError, NetworkError, RequestRejected, ServerUnavailable
from fieldline_client.hlc import uuid7
from fieldline_client.storage import StorageAdapter, commit, read
from fieldline_client.transport import Http

log = logging.getLogger("fieldline_client.uploads")

TUS_VERSION = "1.0.0"
UPLOADS_PATH = "/v1/uploads"
PREFIX = "upload/"
DATA_PREFIX = "upload_data/"
DEFAULT_CHUNK = 1024 * 1024
#: Where a server may put the id of the media record it created when the upload completed.
MEDIA_ID_HEADERS = ("Fieldline-Media-Id", "Upload-Media-Id", "Media-Id", "X-Media-Id")
KINDS = frozenset({"visit_photo", "receipt"})
#: ``460 Checksum Mismatch`` (tus checksum extension).
CHECKSUM_MISMATCH = 460


@dataclass
class UploadState:
    """One upload in progress, as persisted in storage."""

    id: str
    kind: str
    entity_id: str
    filename: str
    content_type: str
    size: int
    #: The file to read from; ``None`` when the bytes are kept in storage.
    path: str | None = None
    url: str | None = None
    offset: int = 0

    def metadata_header(self) -> str:
        pairs = {
            "kind": self.kind,
            "entity_id": self.entity_id,
            "filename": self.filename,
            "content_type": self.content_type,
        }
        return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def sha1_header(chunk: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(chunk, usedforsecurity=False).digest()).decode()


def inspect_file(source: str | os.PathLike[str]) -> tuple[str, int, str]:
    """``(absolute path, size, name)`` of a file to upload."""
    path = Path(source)
    if not path.is_file():
        raise FieldlineError(f"no such file: {path}", code="file_not_found")
    return str(path.resolve()), path.stat().st_size, path.name


def media_id_from(response: httpx.Response) -> str | None:
    for name in MEDIA_ID_HEADERS:
        if value := response.headers.get(name):
            return value
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            return None
        if isinstance(body, dict):
            value = body.get("media_id") or body.get("id")
            return str(value) if value else None
    return None


class Uploader:
    def __init__(
        self, http: Http, storage: StorageAdapter, *, chunk_size: int = DEFAULT_CHUNK, auth: bool = True
    ) -> None:
        self.http = http
        self.storage = storage
        self.chunk_size = chunk_size
        #: Send the session's bearer token (off only for servers without sign-in).
        self.auth = auth
        self._checksum: bool | None = None

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, url, auth=self.auth, **kwargs)

    # ----------------------------------------------------------------------------- bookkeeping
    async def pending(self) -> list[UploadState]:
        out = []
        for key in await self.storage.keys(PREFIX):
            raw = await read(self.storage, key)
            if raw is not None:
                out.append(UploadState(**json.loads(raw)))
        return out

    async def _save(self, state: UploadState, data: bytes | None = None) -> None:
        items = {PREFIX + state.id: json.dumps(asdict(state))}
        if data is not None:
            items[DATA_PREFIX + state.id] = base64.b64encode(data).decode()
        await self.storage.set_many(items)

    async def _forget(self, state: UploadState) -> None:
        await commit(self.storage, {}, [PREFIX + state.id, DATA_PREFIX + state.id])

    async def _read(self, state: UploadState, offset: int, size: int) -> bytes:
        if state.path is not None:
            with open(state.path, "rb") as fh:  # noqa: ASYNC230 - a chunk at a time, local disk
                fh.seek(offset)
                return fh.read(size)
        raw = await read(self.storage, DATA_PREFIX + state.id)
        if raw is None:
            raise FieldlineError("the bytes of this upload are gone from storage", code="upload_data_missing")
        return base64.b64decode(raw)[offset : offset + size]

    # ---------------------------------------------------------------------------------- public
    async def add(
        self,
        source: str | os.PathLike[str] | bytes,
        kind: str,
        entity_id: str,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> UploadState:
        """Record a new upload (durably) without sending anything yet."""
        if kind not in KINDS:
            raise FieldlineError(f"kind must be one of {sorted(KINDS)}", code="validation_failed")
        if isinstance(source, bytes):
            data: bytes | None = source
            path = None
            size = len(source)
        else:
            data = None
            path, size, name = inspect_file(source)
            filename = filename or name
        if size == 0:
            raise FieldlineError("the file is empty", code="empty_file")
        state = UploadState(
            id=uuid7(),
            kind=kind,
            entity_id=str(entity_id),
            filename=filename or "upload",
            content_type=content_type or "application/octet-stream",
            size=size,
            path=path,
        )
        await self._save(state, data)
        return state

    async def run(self, state: UploadState) -> str:
        """Send what the server does not have yet; returns the media id."""
        attempts = 0
        while True:
            try:
                return await self._run_once(state)
            except (NetworkError, ServerUnavailable) as exc:
                attempts += 1
                if attempts >= self.http.retry.attempts:
                    raise
                log.info("upload %s interrupted (%s); resuming from the server's offset", state.id, exc.code)
                await self.http.retry.sleep(self.http.retry.delay(attempts))

    async def cancel(self, state: UploadState) -> None:
        """Terminate the upload on the server (tus termination) and forget it."""
        if state.url is not None:
            await self._request(
                "DELETE",
                state.url,
                headers={"Tus-Resumable": TUS_VERSION},
                ok=lambda r: r.status_code in (404, 410),
            )
        await self._forget(state)

    # -------------------------------------------------------------------------------- protocol
    async def _supports_checksum(self) -> bool:
        if self._checksum is None:
            response = await self._request("OPTIONS", UPLOADS_PATH, headers={"Tus-Resumable": TUS_VERSION})
            extensions = {e.strip() for e in response.headers.get("Tus-Extension", "").split(",")}
            algorithms = {a.strip() for a in response.headers.get("Tus-Checksum-Algorithm", "").split(",")}
            self._checksum = "checksum" in extensions and "sha1" in algorithms
        return self._checksum

    async def _create(self, state: UploadState) -> None:
        response = await self._request(
            "POST",
            UPLOADS_PATH,
            headers={
                "Tus-Resumable": TUS_VERSION,
                "Upload-Length": str(state.size),
                "Upload-Metadata": state.metadata_header(),
            },
            content=b"",
        )
        location = response.headers.get("Location")
        if not location:
            raise FieldlineError("the server created the upload without a Location", code="bad_response")
        state.url = str(httpx.URL(self.http.base_url + "/").join(location))
        state.offset = 0
        await self._save(state)

    async def _head(self, state: UploadState) -> tuple[int | None, httpx.Response]:
        assert state.url is not None
        response = await self._request(
            "HEAD",
            state.url,
            headers={"Tus-Resumable": TUS_VERSION},
            ok=lambda r: r.status_code in (404, 410),
        )
        if response.status_code in (404, 410):
            return None, response
        return int(response.headers["Upload-Offset"]), response

    async def _run_once(self, state: UploadState) -> str:
        checksum = await self._supports_checksum()
        last: httpx.Response | None = None
        if state.url is not None:
            offset, last = await self._head(state)
            if offset is None:
                log.info("upload %s expired on the server; starting again", state.id)
                state.url = None
            else:
                state.offset = offset
        if state.url is None:
            await self._create(state)
        mismatches = 0
        while state.offset < state.size:
            chunk = await self._read(state, state.offset, self.chunk_size)
            headers = {
                "Tus-Resumable": TUS_VERSION,
                "Upload-Offset": str(state.offset),
                "Content-Type": "application/offset+octet-stream",
            }
            if checksum:
                headers["Upload-Checksum"] = sha1_header(chunk)
            assert state.url is not None
            try:
                last = await self._request("PATCH", state.url, headers=headers, content=chunk, retry=False)
            except RequestRejected as exc:
                if exc.status == CHECKSUM_MISMATCH and mismatches < 3:
                    mismatches += 1
                    continue  # the bytes were damaged on the way: send the chunk again
                if exc.status == 409:  # offset mismatch: ask the server where it is
                    offset, last = await self._head(state)
                    if offset is None:
                        raise FieldlineError("the upload expired", code="upload_expired") from exc
                    state.offset = offset
                    continue
                raise
            state.offset = int(last.headers.get("Upload-Offset", state.offset + len(chunk)))
            await self._save(state)
        media_id = media_id_from(last) if last is not None else None
        if media_id is None and state.url is not None:
            _, head = await self._head(state)
            media_id = media_id_from(head)
        await self._forget(state)  # the server has every byte: nothing left to resume
        if media_id is None:
            raise FieldlineError("the upload completed but the server named no media id", code="bad_response")
        return media_id

    async def clear(self) -> None:
        for state in await self.pending():
            await self._forget(state)
