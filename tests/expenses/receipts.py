"""Test side of the receipt flow: what the upload path does before the OCR job (store the original,
create the media row, set the expense to ``processing``, enqueue ``ocr.receipt``), and a runner for
the job in this process."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from api.db.engine import write_session
from api.db.session import Database
from api.expenses.models import Expense, ReceiptScan
from api.expenses.ocr_job import receipt_ocr_kind
from api.jobs import queue
from api.jobs.models import Job
from api.jobs.worker import JobContext, JobWorker
from api.lib.clock import utcnow
from api.lib.ids import uuid7
from api.tenancy.models import Tenant
from media.models import Media
from media.storage import Storage
from sync.entities import Actor
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.writer import SyncWriter
from tests.factories import World, write_system

CLOCK = HybridClock()


def tenant_today(tz: str = "Asia/Shanghai") -> dt.date:
    return utcnow().astimezone(ZoneInfo(tz)).date()


async def write_as(
    sessions: Any, world: World, user: str | None, ident: uuid.UUID, fields: dict[str, Any]
) -> None:
    """One expense mutation by a rep (``user``) or the server (``None``), as sync would apply it."""
    if user is None:
        async with write_session(sessions) as session:
            await write_system(session, world.tenant_a, "expense", ident, fields)
        return
    uid = world.users[user]
    actor = Actor(user_id=uid, role="rep", rep_scope=frozenset({uid}))
    async with write_session(sessions) as session:
        writer = SyncWriter(session, world.tenant_a, actor)
        (outcome,) = await writer.apply([Incoming("expense", ident, "upsert", CLOCK.now(), None, fields)])
        assert outcome.status in {"applied", "merged"}, outcome.error


async def set_tenant(sessions: Any, tenant_id: uuid.UUID, **overrides: Any) -> None:
    async with write_session(sessions) as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), **overrides}


async def add_categories(sessions: Any, world: World, rows: list[tuple[str, str | None, str | None]]) -> None:
    async with write_session(sessions) as session:
        for code, limit, currency in rows:
            await write_system(
                session,
                world.tenant_a,
                "expense_category",
                uuid7(),
                {"code": code, "name": code.title(), "daily_limit": limit, "currency": currency},
            )


@dataclass
class Receipts:
    """Uploads receipts the way the media code does and runs the OCR job in this process."""

    db: Database
    storage: Storage
    world: World
    services: dict[str, Any]

    @property
    def sessions(self) -> Any:
        return self.db.sessions

    async def new_expense(self, rep: str = "rep1", **fields: Any) -> uuid.UUID:
        ident = uuid7()
        await write_as(self.sessions, self.world, rep, ident, {"status": "draft", **fields})
        return ident

    async def attach(
        self,
        expense_id: uuid.UUID,
        data: bytes,
        content_type: str = "image/jpeg",
        *,
        rep: str = "rep1",
        max_attempts: int = 5,
        store: bool = True,
    ) -> uuid.UUID:
        """Store the original, create the media row, set ``processing`` and enqueue the job."""
        sha = hashlib.sha256(data).hexdigest()
        if store:
            stored = await self.storage.put_bytes(data, content_type=content_type)
            key = stored.key
        else:
            key = f"originals/{sha[:2]}/{sha[2:4]}/{sha}"
        media_id = uuid7()
        async with write_session(self.sessions) as session:
            session.add(
                Media(
                    id=media_id,
                    tenant_id=self.world.tenant_a,
                    owner_id=self.world.users[rep],
                    kind="receipt",
                    entity_id=expense_id,
                    sha256=sha,
                    size=len(data),
                    content_type=content_type,
                    storage_key=key,
                    status="stored",
                )
            )
            await session.flush()
            await write_system(
                session,
                self.world.tenant_a,
                "expense",
                expense_id,
                {"receipt_media_id": str(media_id), "status": "processing"},
            )
            await queue.enqueue(
                session,
                "ocr.receipt",
                {"expense_id": str(expense_id), "media_id": str(media_id)},
                tenant_id=self.world.tenant_a,
                dedupe_key=f"ocr.receipt:{media_id}",
                max_attempts=max_attempts,
            )
        return media_id

    async def upload(
        self, data: bytes, content_type: str = "image/jpeg", rep: str = "rep1", **fields: Any
    ) -> uuid.UUID:
        expense_id = await self.new_expense(rep, **fields)
        await self.attach(expense_id, data, content_type, rep=rep)
        return expense_id

    def worker(self) -> JobWorker:
        return JobWorker(JobContext(self.db, self.services), [receipt_ocr_kind()], poll_interval=0.01)

    async def run_jobs(self) -> int:
        """Run due jobs until none is left; returns how many ran."""
        worker = self.worker()
        ran = 0
        while await worker.run_once():
            ran += 1
        return ran

    async def make_due(self) -> None:
        """Retries wait with backoff; bring them forward."""
        async with write_session(self.sessions) as session:
            await session.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow()))

    async def expense(self, ident: uuid.UUID) -> Expense:
        async with self.sessions() as session:
            row = await session.get(Expense, ident)
            assert row is not None
            return row

    async def jobs(self) -> list[Job]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Job).where(Job.kind == "ocr.receipt"))).all())

    async def scans(self, expense_id: uuid.UUID) -> list[ReceiptScan]:
        async with self.sessions() as session:
            stmt = select(ReceiptScan).where(ReceiptScan.expense_id == expense_id)
            return list((await session.scalars(stmt)).all())


def codes(expense: Expense) -> list[str]:
    return [flag["code"] for flag in expense.flags]
