"""``FieldlineClient``: the one object an app holds.

It owns a storage adapter (device id, tokens, outbox, replica, uploads), an HTTP client, the
device's hybrid logical clock, and the sync engine. Writes go to the outbox and are durable before
the call returns; reads answer the replica with the outbox laid over it; :meth:`sync` exchanges
both with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from fieldline_client import models
from fieldline_client.auth import Session
from fieldline_client.errors import AuthExpired, FieldlineError
from fieldline_client.hlc import HybridClock, WallClock, uuid7, wall_ms
from fieldline_client.outbox import Mutation, Outbox
from fieldline_client.replica import VISIT_CHILDREN, Replica, overlay
from fieldline_client.storage import StorageAdapter, read
from fieldline_client.sync import ENVELOPE_BYTES, ConflictCallback, SyncEngine, SyncReport, mutation_bytes
from fieldline_client.transport import Http, RetryPolicy
from fieldline_client.uploads import DEFAULT_CHUNK, Uploader, UploadState

log = logging.getLogger("fieldline_client")

DEVICE_KEY = "meta/device_id"
HLC_KEY = "meta/hlc"
OWNER_KEY = "meta/owner"
#: Set at sign-in until the outbox's numbering follows the server's for this user and device.
REALIGN_KEY = "meta/realign"


class FieldlineClient:
    """An offline-first client of one Fieldline server.

    ``clock`` is a zero-argument callable returning the wall time in milliseconds since the epoch
    (default: the system clock). ``transport`` is an ``httpx.AsyncBaseTransport`` (for proxies,
    tests, or simulating a bad network). One client object per storage at a time.
    """

    def __init__(
        self,
        base_url: str,
        storage: StorageAdapter,
        device_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: WallClock | None = None,
        *,
        retry: RetryPolicy | None = None,
        device_name: str | None = None,
        pull_limit: int = 500,
        upload_chunk_size: int = DEFAULT_CHUNK,
        timeout: float = 30.0,
    ) -> None:
        self.storage = storage
        self.device_name = device_name
        self._wanted_device = str(uuid.UUID(device_id)) if device_id else None
        self._wall: WallClock = clock or wall_ms
        self.http = Http(base_url, transport=transport, retry=retry, timeout=timeout)
        self.session = Session(self.http, storage, self._wall)
        self.http.tokens = self.session
        self.outbox = Outbox(storage)
        self.replica = Replica(storage)
        self.uploader = Uploader(self.http, storage, chunk_size=upload_chunk_size)
        self._pull_limit = pull_limit
        self._engine: SyncEngine | None = None
        self._clock: HybridClock | None = None
        self._device_id: str | None = None
        self._callbacks: list[ConflictCallback] = []
        self._write_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()
        self._upload_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        #: The last error the background loop met (``None`` after a good round).
        self.last_error: FieldlineError | None = None

    # ------------------------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        """Load the device's state from storage (called by every method; idempotent)."""
        if self._engine is not None:
            return
        stored = await read(self.storage, DEVICE_KEY)
        if stored and self._wanted_device and stored != self._wanted_device:
            raise FieldlineError(
                f"this storage belongs to device {stored}, not {self._wanted_device}", code="device_mismatch"
            )
        device_id = stored or self._wanted_device or str(uuid.uuid4())
        if not stored:
            await self.storage.set(DEVICE_KEY, device_id)
        self._clock = HybridClock(device_id, self._wall, last=await read(self.storage, HLC_KEY))
        await self.session.load()
        await self.outbox.load()
        await self.replica.load()
        self._device_id = device_id
        engine = SyncEngine(
            self.http, self.outbox, self.replica, self._clock, device_id, pull_limit=self._pull_limit
        )
        engine.callbacks = self._callbacks
        self._engine = engine

    async def close(self) -> None:
        await self.stop()
        await self.http.aclose()

    async def __aenter__(self) -> FieldlineClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _ready(self) -> SyncEngine:
        await self.open()
        assert self._engine is not None
        return self._engine

    @property
    def device_id(self) -> str:
        if self._device_id is None:
            raise FieldlineError("call open() first", code="not_open")
        return self._device_id

    @property
    def user(self) -> dict[str, Any] | None:
        """The signed-in user (``id``, ``tenant_id``, ``role``, ``name``), or ``None``."""
        return self.session.user

    # ----------------------------------------------------------------------------------- auth
    async def login(self, email: str, password: str) -> dict[str, Any]:
        """Sign in on this device. Local data of another user is refused while it has unsynced
        changes (sync first, or ``logout(clear_data=True)``) and dropped otherwise."""
        engine = await self._ready()
        tokens = await self.session.request_tokens(email, password, self.device_id, self.device_name)
        async with self._write_lock:
            owner = await read(self.storage, OWNER_KEY)
            user_id = str(tokens.user["id"])
            if owner is not None and owner != user_id:
                if len(self.outbox) or await self.uploader.pending():
                    raise FieldlineError(
                        "this device holds unsynced changes of another user: sync them first, "
                        "or log out with clear_data=True",
                        code="pending_changes",
                    )
                await self._clear_local()
            await self.session.store(tokens, {OWNER_KEY: user_id, REALIGN_KEY: "1"})
        await self._realign(engine)
        return dict(tokens.user)

    async def _realign(self, engine: SyncEngine) -> None:
        """Continue the server's ``seq`` numbering for this user and device (see Outbox.realign);
        retried by the next sync if the network fails right after sign-in."""
        if await read(self.storage, REALIGN_KEY) is None:
            return
        last_seq = await engine.last_seq()
        async with self._write_lock:
            await self.outbox.realign(last_seq)
            await self.storage.delete(REALIGN_KEY)

    async def logout(self, *, clear_data: bool = False) -> None:
        """Sign out (revoking this device's tokens when online). ``clear_data`` also drops the
        replica, the outbox and pending uploads (unsynced changes are lost)."""
        await self._ready()
        await self.session.logout()
        if clear_data:
            async with self._write_lock:
                await self._clear_local()
                await self.storage.delete(OWNER_KEY)

    async def _clear_local(self) -> None:
        await self.outbox.clear()
        await self.replica.clear()
        await self.uploader.clear()

    # --------------------------------------------------------------------------------- writes
    def _check_fields(self, entity: str, fields: dict[str, Any], allowed: dict[str, tuple[str, ...]]) -> None:
        if entity not in models.ENTITY_TYPES:
            raise FieldlineError(f"unknown entity {entity!r}", code="unknown_entity")
        unknown = sorted(set(fields) - set(allowed.get(entity, ())))
        if unknown:
            raise FieldlineError(f"{entity} has no writable field {unknown[0]!r}", code="unknown_field")

    async def _record(self, m: Mutation) -> None:
        engine = await self._ready()
        limit = (engine.limits.max_push_bytes if engine.limits else 5_000_000) - ENVELOPE_BYTES
        if mutation_bytes(m) > limit:
            raise FieldlineError(
                f"the change is larger than the server accepts ({limit} bytes)", code="payload_too_large"
            )
        assert self._clock is not None
        await self.outbox.append(m, {HLC_KEY: self._clock.last})

    async def create(self, entity: str, fields: dict[str, Any]) -> str:
        """Create an entity offline; returns its id (UUIDv7, or ``fields["id"]`` if given)."""
        await self._ready()
        fields = dict(fields)
        ident = str(uuid.UUID(str(fields.pop("id")))) if "id" in fields else uuid7(self._wall)
        self._check_fields(entity, fields, models.CREATE_FIELDS)
        async with self._write_lock:
            if self.get_sync(entity, ident) is not None or self.outbox.for_entity(entity, ident):
                raise FieldlineError(f"{entity} {ident} already exists", code="id_conflict")
            assert self._clock is not None
            await self._record(self.outbox.draft(entity, ident, "upsert", self._clock.now(), fields=fields))
        return ident

    async def update(self, entity: str, ident: str, fields: dict[str, Any]) -> None:
        """Change some fields offline (only those given are sent)."""
        await self._ready()
        self._check_fields(entity, fields, models.UPDATE_FIELDS)
        async with self._write_lock:
            self._require(entity, ident)
            assert self._clock is not None
            m = self.outbox.draft(
                entity,
                ident,
                "upsert",
                self._clock.now(),
                fields=dict(fields),
                base_version=self.replica.version(entity, ident),
            )
            await self._record(m)

    async def delete(self, entity: str, ident: str) -> None:
        await self._ready()
        self._check_fields(entity, {}, models.UPDATE_FIELDS)
        async with self._write_lock:
            self._require(entity, ident)
            assert self._clock is not None
            m = self.outbox.draft(
                entity, ident, "delete", self._clock.now(), base_version=self.replica.version(entity, ident)
            )
            await self._record(m)

    def _require(self, entity: str, ident: str) -> None:
        if self.get_sync(entity, ident) is None:
            raise FieldlineError(f"{entity} {ident} is not on this device", code="not_found")

    # ---------------------------------------------------------------------------------- reads
    def get_sync(self, entity: str, ident: str) -> dict[str, Any] | None:
        row = overlay(entity, ident, self.replica.get(entity, ident), self.outbox.for_entity(entity, ident))
        if row is None or entity not in VISIT_CHILDREN:
            return row
        # Shown while its visit is: deleting a visit hides its children at once, as the server
        # deletes them with it.
        return row if self.get_sync("visit", str(row["visit_id"])) is not None else None

    async def get(self, entity: str, ident: str) -> dict[str, Any] | None:
        """The entity as this device sees it: server state with unsynced changes on top."""
        await self._ready()
        return self.get_sync(entity, str(ident))

    async def list(
        self, entity: str, filter_fn: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Every entity of a kind on this device (with unsynced changes), oldest id first."""
        await self._ready()
        ids = set(self.replica.ids(entity)) | {m.id for m in self.outbox.ordered() if m.entity == entity}
        rows = [row for ident in sorted(ids) if (row := self.get_sync(entity, ident)) is not None]
        return [r for r in rows if filter_fn is None or filter_fn(r)]

    async def pending(self) -> list[Mutation]:
        """Mutations the server has not answered yet, in ``seq`` order."""
        await self._ready()
        return self.outbox.pending()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """An authenticated call to any REST endpoint (retries, refresh and typed errors included);
        returns the decoded JSON body, or ``None`` for an empty answer."""
        await self._ready()
        response = await self.http.request(method, path, **kwargs)
        return response.json() if response.content else None

    # ----------------------------------------------------------------------------------- sync
    def on_conflict(self, callback: ConflictCallback) -> Callable[[], None]:
        """Call ``callback(event)`` (sync or async) for every ``merged`` and ``rejected`` answer.
        Returns a function that unregisters it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    async def sync(self) -> SyncReport:
        """Push the outbox, then pull until the replica is current. Raises on a refused request
        (4xx), or when the network or server stay down through every retry."""
        engine = await self._ready()
        async with self._sync_lock:
            report = SyncReport()
            try:
                await self._realign(engine)
                await engine.push(report)
                await engine.pull(report)
            finally:
                assert self._clock is not None
                await self.storage.set(HLC_KEY, self._clock.last)
            return report

    def start(self, interval: float = 30.0) -> None:
        """Sync (and resume uploads) every ``interval`` seconds in the background."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(interval))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, interval: float) -> None:
        while True:
            try:
                await self.sync()
                await self.resume_uploads()
                self.last_error = None
            except AuthExpired as exc:
                self.last_error = exc
                log.warning("background sync stopped: %s", exc)
                return
            except FieldlineError as exc:
                self.last_error = exc
                log.info("background sync failed, will retry: %s", exc)
            await asyncio.sleep(interval)

    # -------------------------------------------------------------------------------- uploads
    async def upload(
        self,
        file: str | os.PathLike[str] | bytes,
        kind: str,
        entity_id: str,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """Upload a photo (``visit_photo``, for a visit) or receipt (``receipt``, for an expense)
        over tus; returns the media id. Interrupted uploads continue in :meth:`resume_uploads`."""
        engine = await self._ready()
        state = await self.uploader.add(file, kind, entity_id, filename, content_type)
        if any(m.id == str(entity_id) for m in self.outbox.pending()):
            # The visit or expense exists only on this device so far: the server needs it first.
            async with self._sync_lock:
                await engine.push(SyncReport())
        async with self._upload_lock:
            return await self.uploader.run(state)

    async def resume_uploads(self) -> list[str]:
        """Finish every upload left unfinished (after a network cut or an app restart); returns the
        media ids. Raises the first error after trying them all."""
        await self._ready()
        done: list[str] = []
        errors: list[FieldlineError] = []
        async with self._upload_lock:
            for state in await self.uploader.pending():
                try:
                    done.append(await self.uploader.run(state))
                except FieldlineError as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]
        return done

    async def pending_uploads(self) -> list[UploadState]:
        await self._ready()
        return await self.uploader.pending()

    async def cancel_upload(self, upload_id: str) -> None:
        """Stop an upload and delete what the server received (tus termination)."""
        await self._ready()
        for state in await self.uploader.pending():
            if state.id == upload_id:
                await self.uploader.cancel(state)
                return
        raise FieldlineError(f"no upload {upload_id} on this device", code="not_found")
