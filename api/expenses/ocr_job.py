"""The ``ocr.receipt`` job: a stored receipt becomes extraction, flags and filled fields on its expense.

The upload path stores the original, sets the expense's ``receipt_media_id`` and status
``processing``, and enqueues ``{"expense_id", "media_id"}`` with the dedupe key
``ocr.receipt:<media_id>``. From there:

1. read the expense, the media row and the tenant's settings (a short read transaction);
2. load the bytes from storage and run OCR in a worker thread (never on the event loop);
3. in ONE write transaction: record the scan, compute the flags against the tenant's other
   expenses, write ``extraction``, ``flags``, the fields the rep left empty and
   ``processing → needs_review`` through the sync writer as the server, and complete the job.

Completion is fenced on the lease, so a worker that lost its lease (it was presumed dead) cannot
commit a second result. When the last attempt fails, the give-up handler moves the expense to
``needs_review`` with an ``unreadable`` flag, so no expense waits in ``processing`` forever.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.engine import write_session
from api.expenses import repository as repo
from api.expenses.models import Expense, ReceiptScan
from api.expenses.receipts import (
    FILLABLE,
    Category,
    category_rules,
    effective_record,
    fields_to_fill,
    flag_policy,
    gave_up_flags,
    review_flags,
)
from api.jobs import queue
from api.jobs.worker import JobContext, JobKind, PermanentJobError
from api.lib.clock import utcnow
from api.lib.ids import uuid7
from api.tenancy.policy import TenantSettings
from media.ocr.categorize import CategoryRules
from media.ocr.hashes import ReceiptHashes, receipt_hashes
from media.ocr.pipeline import extract_receipt
from media.ocr.types import ReceiptExtraction
from media.storage import LocalStorage, ObjectNotFound, S3Storage, Storage
from sync.entities import Actor
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.writer import SyncWriter

# tesseract on one thread per job: run one worker process (or one concurrent job) per core instead.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

KIND = "ocr.receipt"
#: Longest OCR of one receipt in CPU seconds, tesseract included (the extraction is then ``unreadable``
#: with ``ocr_timeout``); on a busy machine the wall clock stops it at three times that.
OCR_TIMEOUT_S = 60.0
SERVER = Actor(user_id=None, role="system")

log = logging.getLogger("fieldline.expenses.ocr")
_CLOCK = HybridClock()


@dataclass(frozen=True)
class ReceiptJob:
    expense_id: uuid.UUID
    media_id: uuid.UUID


def parse_payload(payload: dict[str, Any]) -> ReceiptJob:
    try:
        return ReceiptJob(uuid.UUID(str(payload["expense_id"])), uuid.UUID(str(payload["media_id"])))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError(f"bad payload: {exc}") from exc


@dataclass(frozen=True)
class OcrOptions:
    default_currency: str
    today: dt.date
    rules: CategoryRules
    languages: str = "auto"
    timeout: float = OCR_TIMEOUT_S


#: Tenants paying in these currencies get Chinese + English from the first read (it reads English
#: receipts as well); others start in English and switch when a page looks Chinese.
CHINESE_FIRST_CURRENCIES = frozenset({"CNY"})


def ocr_languages(default_currency: str) -> str:
    return "chi_sim+eng" if default_currency.upper() in CHINESE_FIRST_CURRENCIES else "auto"


def read_receipt(
    data: bytes, content_type: str, options: OcrOptions
) -> tuple[ReceiptExtraction, ReceiptHashes]:
    """OCR and fingerprint one receipt (CPU-bound, blocking; never raises on bad input)."""
    extraction = extract_receipt(
        data,
        content_type,
        default_currency=options.default_currency,
        today=options.today,
        category_rules=options.rules,
        languages=options.languages,
        timeout=options.timeout,
    )
    return extraction, receipt_hashes(data, content_type)


def tenant_today(timezone: str) -> dt.date:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return utcnow().astimezone(zone).date()


def raw_text_ref(expense_id: uuid.UUID) -> str:
    """Where a reviewer reads the OCR text of an expense's receipt."""
    return f"/v1/expenses/{expense_id}/receipt-text"


def storage_for(ctx: JobContext) -> Storage:
    """The process's storage (``ctx.services["storage"]``), or one built from the settings."""
    storage: Storage | None = ctx.services.get("storage")
    if storage is None:
        settings = ctx.services["settings"]
        if settings.storage == "s3":
            storage = S3Storage(
                settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region
            )
        else:
            storage = LocalStorage(settings.media_root)
        ctx.services["storage"] = storage
    return storage


def _clock(ctx: JobContext) -> HybridClock:
    clock: HybridClock = ctx.services.get("clock") or _CLOCK
    return clock


def _current(expense: Expense | None, job: ReceiptJob) -> bool:
    """The job still concerns the expense's receipt (not deleted, receipt not replaced since)."""
    return expense is not None and expense.deleted_at is None and expense.receipt_media_id == job.media_id


async def write_as_server(
    session: AsyncSession, expense: Expense, fields: dict[str, Any], clock: HybridClock
) -> None:
    """One server mutation of the expense through the sync writer (same merge rules as a phone)."""
    writer = SyncWriter(session, expense.tenant_id, SERVER, lock_rows=True)
    incoming = Incoming(
        entity="expense", id=expense.id, op="upsert", hlc=clock.now(), base_version=None, fields=fields
    )
    (outcome,) = await writer.apply([incoming])
    if outcome.status == "rejected":
        raise RuntimeError(f"expense {expense.id}: server write refused: {outcome.error}")


async def record_result(
    session: AsyncSession,
    expense: Expense,
    job: ReceiptJob,
    extraction: ReceiptExtraction,
    hashes: ReceiptHashes,
    *,
    settings: TenantSettings,
    categories: dict[str, Category],
    today: dt.date,
    clock: HybridClock,
    job_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Store the scan and write the result on the expense (inside the caller's transaction).

    Returns the fields written. Fields the rep already set are kept; the status moves to
    ``needs_review`` only from ``processing``.
    """
    session.add(
        ReceiptScan(
            id=uuid7(),
            tenant_id=expense.tenant_id,
            expense_id=expense.id,
            media_id=job.media_id,
            job_id=job_id,
            sha256=hashes.sha256,
            phash=hashes.phash,
            engine=extraction.engine[:200],
            languages=extraction.languages[:64],
            unreadable=extraction.unreadable,
            reason=extraction.reason,
            raw_text=extraction.raw_text,
            fields=msgspec.to_builtins(extraction.fields),
            timings=dict(extraction.timings),
        )
    )
    processing = expense.status == "processing"
    current = {name: getattr(expense, name) for name in FILLABLE}
    fills = fields_to_fill(current, extraction, category_codes=set(categories)) if processing else {}
    record = effective_record(
        extraction, {**current, **fills}, expense_id=str(expense.id), sha256=hashes.sha256, phash=hashes.phash
    )
    others = await repo.other_expenses(
        session,
        expense.tenant_id,
        expense.id,
        date=record.date,
        total=record.total,
        sha256=hashes.sha256,
    )
    policy = flag_policy(
        categories.get(record.category_code or ""),
        stale_after_days=settings.stale_receipt_days,
        default_currency=settings.default_currency,
    )
    flags = review_flags(record, rep_id=expense.rep_id, others=others, policy=policy, today=today)
    change: dict[str, Any] = {
        "extraction": extraction.to_extraction(raw_text_ref=raw_text_ref(expense.id)),
        "flags": flags,
        **fills,
    }
    if processing:
        change["status"] = "needs_review"
    await write_as_server(session, expense, change, clock)
    return change


async def run_receipt_ocr(ctx: JobContext, lease: queue.Lease) -> None:
    job = parse_payload(lease.payload)
    async with ctx.db.sessions() as session:
        expense = await repo.get_expense(session, job.expense_id)
        if not _current(expense, job):
            log.info("receipt %s: expense gone or receipt replaced; nothing to do", job.media_id)
            return
        assert expense is not None
        media = await repo.get_media(session, job.media_id)
        if media is None or media.tenant_id != expense.tenant_id:
            raise PermanentJobError(f"media {job.media_id} not found")
        if await repo.scan_exists(session, job.media_id):
            return  # already processed (the job was enqueued again)
        settings, categories = await repo.tenant_context(session, expense.tenant_id)
    try:
        data = await storage_for(ctx).read_bytes(media.storage_key)
    except ObjectNotFound as exc:
        raise PermanentJobError(f"the receipt of media {job.media_id} is not in storage") from exc
    today = tenant_today(settings.timezone)
    options = OcrOptions(
        default_currency=settings.default_currency.upper(),
        today=today,
        rules=category_rules(settings.category_keywords),
        languages=ocr_languages(settings.default_currency),
    )
    extraction, hashes = await anyio.to_thread.run_sync(read_receipt, data, media.content_type, options)
    async with write_session(ctx.db.sessions) as session:
        await repo.serialize_receipt_checks(session, expense.tenant_id)
        locked = await repo.get_expense(session, job.expense_id, lock=True)
        if _current(locked, job):
            assert locked is not None
            await record_result(
                session,
                locked,
                job,
                extraction,
                hashes,
                settings=settings,
                categories=categories,
                today=today,
                clock=_clock(ctx),
                job_id=lease.job_id,
            )
        await queue.complete(session, lease)
    log.info(
        "receipt %s read in %.2f s (%s)",
        job.media_id,
        extraction.timings.get("total", 0.0),
        extraction.reason or "readable",
    )


async def give_up_receipt_ocr(ctx: JobContext, lease: queue.Lease, error: str) -> None:
    """After the last failed attempt: the expense goes to review, flagged ``unreadable``."""
    try:
        job = parse_payload(lease.payload)
    except PermanentJobError:
        return
    async with write_session(ctx.db.sessions) as session:
        expense = await repo.get_expense(session, job.expense_id, lock=True)
        if not _current(expense, job):
            return
        assert expense is not None
        if expense.status != "processing":
            return
        await write_as_server(
            session,
            expense,
            {"status": "needs_review", "flags": gave_up_flags(expense.flags or [])},
            _clock(ctx),
        )
    log.warning("receipt %s: gave up (%s); expense %s needs review", job.media_id, error, job.expense_id)


def receipt_ocr_kind(lease_seconds: float = 120.0) -> JobKind:
    return JobKind(KIND, run_receipt_ocr, on_give_up=give_up_receipt_ocr, lease_seconds=lease_seconds)
