"""HTTP endpoints for media: tus uploads at ``/v1/uploads``, one-shot upload, delivery, verification.

Thin: headers in, service call, headers out. The routes are mounted on their own router whose body
limit is the upload limit (``FIELDLINE_MAX_UPLOAD_BYTES``); the rest of the API keeps the small
JSON limit.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Final

from cryptography.hazmat.primitives import serialization
from litestar import Controller, Request, Response, Router, delete, get, head, patch, post, route
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import HttpMethod, RequestEncodingType
from litestar.exceptions import InternalServerException
from litestar.params import Body, FromPath
from litestar.response import Stream

from api.accounts.guards import provide_principal
from api.accounts.principal import Principal
from api.lib.errors import ValidationFailed, exception_to_problem, field_error
from api.media import tus
from api.media.delivery import MediaReader, Served, etag, etag_matches
from api.media.ingest import MediaIngest
from api.media.parts import ClientDisconnected
from api.media.runtime import MediaRuntime
from api.media.schemas import KeysOut, MediaForm, MediaOut, VerifyForm, VerifyOut
from api.media.uploads import UploadService, UploadState
from api.settings import Settings

#: Room for multipart boundaries and part headers above the file itself.
MULTIPART_OVERHEAD: Final = 64 * 1024
#: Content-addressed bytes never change: caches may keep them for a year without asking.
IMMUTABLE: Final = "private, max-age=31536000, immutable"
_COPY_BUFFER: Final = 1024 * 1024
#: Response headers browser tus clients must be able to read (CORS).
EXPOSED_HEADERS: Final = (
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    tus.MEDIA_ID_HEADER,
    "ETag",
)


def _runtime(request: Request[Any, Any, Any]) -> MediaRuntime:
    runtime: MediaRuntime = request.app.state["media"]
    return runtime


def _ingest(request: Request[Any, Any, Any]) -> MediaIngest:
    state = request.app.state
    worker = state.get("worker")
    return MediaIngest(
        state["db"],
        _runtime(request),
        state["clock"],
        after_merge=state.get("after_merge", ()),
        wake_worker=worker.wake if worker is not None else None,
    )


def _reader(request: Request[Any, Any, Any]) -> MediaReader:
    return MediaReader(request.app.state["db"], _runtime(request))


async def body_chunks(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The request body as it arrives (bounded by the route's body limit)."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except InternalServerException as exc:  # Litestar's "client disconnected prematurely"
        raise ClientDisconnected from exc


# ---------------------------------------------------------------------------------------------
# tus
# ---------------------------------------------------------------------------------------------


def tus_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every tus response carries ``Tus-Resumable``, errors included."""
    response = exception_to_problem(request, exc)
    response.headers["Tus-Resumable"] = tus.VERSION
    return response


def _state_headers(state: UploadState) -> dict[str, str]:
    headers = {"Tus-Resumable": tus.VERSION, "Upload-Offset": str(state.offset)}
    if state.expires_at is not None:
        headers["Upload-Expires"] = tus.http_date(state.expires_at)
    if state.media_id is not None:
        headers[tus.MEDIA_ID_HEADER] = str(state.media_id)
    return headers


@route(
    "/uploads",
    http_method=HttpMethod.OPTIONS,
    opt={"public": True},
    operation_id="DiscoverUploads",
    tags=["media"],
    status_code=204,
)
async def discover_uploads(request: Request) -> Response[None]:
    """tus discovery: version, extensions, size limit, checksum algorithms (no token needed)."""
    return Response(None, status_code=204, headers=tus.discovery_headers(_runtime(request).limits.max_bytes))


class UploadController(Controller):
    path = "/uploads"
    tags = ["media"]
    dependencies = {"principal": Provide(provide_principal)}
    exception_handlers = {Exception: tus_problem}

    @post("", operation_id="CreateUpload", status_code=201)
    async def create(self, request: Request, principal: NamedDependency[Principal]) -> Response[None]:
        """tus creation (``Upload-Length``, ``Upload-Metadata``: kind, entity_id, filename,
        content_type), optionally with the first bytes in the body (creation-with-upload)."""
        headers = request.headers
        tus.check_version(headers)
        length = tus.parse_length(headers, _runtime(request).limits.max_bytes)
        metadata = tus.parse_metadata(headers.get("upload-metadata"))
        body: AsyncIterator[bytes] | None = None
        checksum = None
        if headers.get("content-type", "").startswith(tus.OFFSET_CONTENT_TYPE):
            body, checksum = body_chunks(request), tus.parse_checksum(headers.get("upload-checksum"))
        state = await UploadService(_ingest(request)).create(
            principal, length=length, metadata=metadata, body=body, checksum=checksum
        )
        out = _state_headers(state)
        if body is None:
            out.pop("Upload-Offset")
        out["Location"] = f"/v1/uploads/{state.id}"
        return Response(None, status_code=201, headers=out)

    @head("/{upload_id:uuid}", operation_id="GetUploadOffset", status_code=200)
    async def offset(
        self, request: Request, principal: NamedDependency[Principal], upload_id: FromPath[uuid.UUID]
    ) -> Response[None]:
        """How many bytes the server has: resume from ``Upload-Offset``."""
        tus.check_version(request.headers)
        state = await UploadService(_ingest(request)).state(principal, upload_id)
        headers = _state_headers(state)
        headers.update({"Upload-Length": str(state.length), "Cache-Control": "no-store"})
        return Response(None, status_code=200, headers=headers)

    @patch("/{upload_id:uuid}", operation_id="AppendToUpload", status_code=204)
    async def append(
        self, request: Request, principal: NamedDependency[Principal], upload_id: FromPath[uuid.UUID]
    ) -> Response[None]:
        """Append ``application/offset+octet-stream`` bytes at ``Upload-Offset`` (409 if it is not
        the server's offset; 460 and nothing kept if ``Upload-Checksum`` does not match)."""
        headers = request.headers
        tus.check_version(headers)
        tus.check_patch_content_type(headers)
        offset = tus.parse_non_negative(headers, "Upload-Offset")
        checksum = tus.parse_checksum(headers.get("upload-checksum"))
        state = await UploadService(_ingest(request)).append(
            principal, upload_id, offset=offset, chunks=body_chunks(request), checksum=checksum
        )
        return Response(None, status_code=204, headers=_state_headers(state))

    @delete("/{upload_id:uuid}", operation_id="TerminateUpload", status_code=204)
    async def terminate(
        self, request: Request, principal: NamedDependency[Principal], upload_id: FromPath[uuid.UUID]
    ) -> Response[None]:
        """tus termination: the upload and its bytes are removed."""
        tus.check_version(request.headers)
        await UploadService(_ingest(request)).terminate(principal, upload_id)
        return Response(None, status_code=204, headers={"Tus-Resumable": tus.VERSION})


# ---------------------------------------------------------------------------------------------
# Media
# ---------------------------------------------------------------------------------------------


def _copy_to_file(source: Any, directory: Path) -> Path:
    """Spool an uploaded part to a named file for validation (streamed in 1 MiB blocks)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="oneshot-")
    with os.fdopen(fd, "wb") as out:
        source.seek(0)
        shutil.copyfileobj(source, out, _COPY_BUFFER)
    return Path(name)


def _serve(request: Request[Any, Any, Any], served: Served) -> Response[Any]:
    tag = etag(served.sha256)
    headers = {"ETag": tag, "Cache-Control": IMMUTABLE}
    if etag_matches(request.headers.get("if-none-match"), tag):
        return Response(None, status_code=304, headers=headers)
    if served.size is not None:
        headers["Content-Length"] = str(served.size)
    if served.filename:
        safe = "".join(c for c in served.filename if c.isalnum() or c in "._- ")[:100] or "file"
        headers["Content-Disposition"] = f'inline; filename="{safe}"'
    return Stream(
        _runtime(request).storage.iter_chunks(served.key),
        media_type=served.content_type,
        headers=headers,
    )


def _entity_uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(
            "entity_id must be the id of a visit or an expense",
            code="validation_failed",
            errors=[field_error("entity_id", "invalid", "a UUID")],
        ) from None


def _jwk(key_id: str, key: Any) -> dict[str, str]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key_id, "use": "sig", "alg": "EdDSA"}


class MediaController(Controller):
    path = "/media"
    tags = ["media"]
    dependencies = {"principal": Provide(provide_principal)}

    @post("", operation_id="UploadMedia", status_code=201)
    async def upload(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        data: Annotated[
            MediaForm, Body(media_type=RequestEncodingType.MULTI_PART, multipart_form_part_limit=3)
        ],
    ) -> Response[MediaOut]:
        """One-shot upload (multipart ``kind``, ``entity_id``, ``file``): validated, stored and
        linked like a finished tus upload. 201 for a new record, 200 when the same bytes were
        already attached to the same row."""
        entity_id = _entity_uuid(data.entity_id)
        upload: UploadFile = data.file
        runtime = _runtime(request)
        path = await asyncio.to_thread(_copy_to_file, upload.file, runtime.upload_dir / "incoming")
        try:
            accepted = await _ingest(request).accept(
                principal,
                path,
                kind=data.kind,
                entity_id=entity_id,
                declared_type=upload.content_type,
                filename=upload.filename,
            )
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            await upload.close()
        return Response(MediaOut.of(accepted.media), status_code=201 if accepted.created else 200)

    @get("/{media_id:uuid}", operation_id="GetMediaRendition")
    async def rendition(
        self, request: Request, principal: NamedDependency[Principal], media_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """The watermarked, signed rendition (JPEG); 409 ``not_ready`` while it is being made."""
        return _serve(request, await _reader(request).rendition(principal, media_id))

    @get("/{media_id:uuid}/thumbnail", operation_id="GetMediaThumbnail")
    async def thumbnail(
        self, request: Request, principal: NamedDependency[Principal], media_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """A 320 px WebP thumbnail of the rendition's picture."""
        return _serve(request, await _reader(request).thumbnail(principal, media_id))

    @get("/{media_id:uuid}/original", operation_id="GetMediaOriginal")
    async def original(
        self, request: Request, principal: NamedDependency[Principal], media_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """The original bytes exactly as uploaded (the uploader, the rep's managers, admins)."""
        return _serve(request, await _reader(request).original(principal, media_id))

    @post("/verify", operation_id="VerifyMedia", status_code=200)
    async def verify(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        data: Annotated[
            VerifyForm, Body(media_type=RequestEncodingType.MULTI_PART, multipart_form_part_limit=1)
        ],
    ) -> VerifyOut:
        """Whether a file is a rendition this server issued, unaltered, and its provenance."""
        try:
            content = await data.file.read()
        finally:
            await data.file.close()
        return VerifyOut.of(await _reader(request).verify(principal, content))

    @get("/keys", operation_id="GetMediaKeys", opt={"public": True})
    async def keys(self, request: Request) -> KeysOut:
        """Public keys for verifying rendition signatures offline."""
        ring = _runtime(request).keys
        return KeysOut(keys=[_jwk(kid, key) for kid, key in ring.keys.items()])


def media_router(settings: Settings) -> Router:
    """The media routes under ``/v1`` with the upload body limit."""
    return Router(
        path="/v1",
        # discover_uploads first: registered after the controller, Litestar's automatic OPTIONS
        # handler for /v1/uploads would replace it.
        route_handlers=[discover_uploads, UploadController, MediaController],
        request_max_body_size=settings.max_upload_bytes + MULTIPART_OVERHEAD,
    )
