"""One-shot uploads (POST /v1/media) and receipts: linked to the expense through the sync writer,
with the OCR job enqueued in the same transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from api.jobs.models import Job
from api.photos.models import Photo
from tests.media import mediagen as gen
from tests.media_api.conftest import (
    at_visit,
    new_expense,
    new_visit,
    one_shot,
    problem,
    rep,
    sha256,
    tus_upload,
)
from tests.sync.helpers import Phone


async def test_one_shot_photo_answers_the_record_and_is_idempotent(client, world, session_factory) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    data = at_visit(100)
    r = await one_shot(client, h, data, kind="visit_photo", entity_id=vid, filename="shelf.jpg")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "visit_photo"
    assert body["sha256"] == sha256(data)
    assert body["size"] == len(data)
    assert body["content_type"] == "image/jpeg"
    assert body["status"] == "stored"
    assert body["entity_id"] == vid
    assert body["filename"] == "shelf.jpg"
    uuid.UUID(body["id"])
    # The same bytes again (a retry after a lost response) answer the same record.
    again = await one_shot(client, h, data, kind="visit_photo", entity_id=vid)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    r = await tus_upload(client, h, data, entity_id=vid)
    assert r.headers["fieldline-media-id"] == body["id"]
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Photo)) == 1
        assert await s.scalar(select(func.count()).select_from(Job).where(Job.kind == "media.render")) == 1


async def test_receipts_link_the_expense_and_enqueue_ocr(client, world, session_factory) -> None:
    phone = await Phone.sign_in(client, "rep1")
    h = phone.headers
    pdf_expense, photo_expense = await new_expense(client, h), await new_expense(client, h)
    await phone.pull_all()

    pdf = gen.minimal_pdf(pages=2)
    r = await one_shot(
        client,
        h,
        pdf,
        kind="receipt",
        entity_id=pdf_expense,
        filename="r.pdf",
        content_type="application/pdf",
    )
    assert r.status_code == 201, r.text
    pdf_media = r.json()
    assert pdf_media["kind"] == "receipt"
    assert pdf_media["content_type"] == "application/pdf"
    receipt = gen.encode(gen.photo_like(900, 1400, seed=101), quality=85)
    r = await tus_upload(
        client, h, receipt, entity_id=photo_expense, kind="receipt", content_type="application/octet-stream"
    )
    assert r.status_code == 204, r.text
    photo_media_id = r.headers["fieldline-media-id"]

    for expense_id, media_id in ((pdf_expense, pdf_media["id"]), (photo_expense, photo_media_id)):
        expense = (await client.get(f"/v1/expenses/{expense_id}", headers=h)).json()
        assert expense["receipt_media_id"] == media_id
        assert expense["status"] == "processing"
    async with session_factory() as s:
        jobs = (await s.scalars(select(Job).where(Job.kind == "ocr.receipt").order_by(Job.created_at))).all()
    assert [j.payload for j in jobs] == [
        {"expense_id": pdf_expense, "media_id": pdf_media["id"]},
        {"expense_id": photo_expense, "media_id": photo_media_id},
    ]
    assert [j.dedupe_key for j in jobs] == [f"ocr.receipt:{pdf_media['id']}", f"ocr.receipt:{photo_media_id}"]
    assert all(j.status == "queued" for j in jobs)

    # The phone learns of both links on its next pull.
    changes = await phone.pull_all()
    pulled = {c["id"]: c["data"] for c in changes if c["entity"] == "expense"}
    assert pulled[pdf_expense]["receipt_media_id"] == pdf_media["id"]
    assert pulled[photo_expense]["status"] == "processing"

    # A receipt is served as uploaded; it has no thumbnail.
    r = await client.get(f"/v1/media/{pdf_media['id']}", headers=h)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content == pdf
    r = await client.get(f"/v1/media/{pdf_media['id']}/thumbnail", headers=h)
    assert r.status_code == 404
    assert problem(r)["code"] == "no_thumbnail"
