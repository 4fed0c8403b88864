"""Per-kind payload schemas for visit actions.

Unknown keys are kept (newer apps may send more); the known ones must be well-typed.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec

from api.lib.values import ACTION_KINDS, Currency, IsoDate, Money

Qty = Annotated[float, msgspec.Meta(gt=0, le=1_000_000)]
Text = Annotated[str, msgspec.Meta(max_length=5000)]


class _Payload(msgspec.Struct, kw_only=True):
    notes: Text | None = None


class Item(msgspec.Struct, kw_only=True):
    product_id: uuid.UUID | None = None
    sku: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    quantity: Qty
    unit_price: Money | None = None

    def __post_init__(self) -> None:
        if self.product_id is None and self.sku is None:
            raise ValueError("an item needs product_id or sku")


class CountItem(msgspec.Struct, kw_only=True):
    product_id: uuid.UUID | None = None
    sku: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    quantity: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]


class PriceItem(msgspec.Struct, kw_only=True):
    product_id: uuid.UUID | None = None
    sku: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    price: Money
    currency: Currency | None = None


Items = Annotated[list[Item], msgspec.Meta(min_length=1, max_length=500)]


class OrderIntent(_Payload, kw_only=True):
    items: Items
    delivery_date: IsoDate | None = None


class SampleDrop(_Payload, kw_only=True):
    items: Items
    recipient: Text | None = None


class CompetitorReport(_Payload, kw_only=True):
    competitor: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    product: Text | None = None
    price: Money | None = None
    promotion: Text | None = None


class DisplayCheck(_Payload, kw_only=True):
    compliant: bool
    facings: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None
    photo_ids: list[uuid.UUID] = msgspec.field(default_factory=list)


class PriceCheck(_Payload, kw_only=True):
    items: Annotated[list[PriceItem], msgspec.Meta(min_length=1, max_length=500)]


class StockCheck(_Payload, kw_only=True):
    items: Annotated[list[CountItem], msgspec.Meta(min_length=1, max_length=500)]


class PaymentCollection(_Payload, kw_only=True):
    amount: Money
    currency: Currency
    method: Literal["cash", "cheque", "transfer", "card", "other"]
    reference: Text | None = None


class Complaint(_Payload, kw_only=True):
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
    severity: Literal["low", "medium", "high"] | None = None


class Training(_Payload, kw_only=True):
    topic: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    attendees: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None
    duration_min: Annotated[int, msgspec.Meta(ge=0, le=24 * 60)] | None = None


class Survey(_Payload, kw_only=True):
    survey_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    answers: dict[str, Any]


class Contract(_Payload, kw_only=True):
    signed: bool
    contract_number: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    value: Money | None = None
    currency: Currency | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None


class Delivery(_Payload, kw_only=True):
    items: Items
    delivery_note: Text | None = None


PAYLOAD_TYPES: dict[str, type[msgspec.Struct]] = {
    "order_intent": OrderIntent,
    "sample_drop": SampleDrop,
    "competitor_report": CompetitorReport,
    "display_check": DisplayCheck,
    "price_check": PriceCheck,
    "stock_check": StockCheck,
    "payment_collection": PaymentCollection,
    "complaint": Complaint,
    "training": Training,
    "survey": Survey,
    "contract": Contract,
    "delivery": Delivery,
}
assert set(PAYLOAD_TYPES) == set(ACTION_KINDS)


def validate_payload(kind: str, payload: Any) -> dict[str, Any]:
    """Validate ``payload`` for ``kind`` and return it, unknown keys kept.

    Raises ``msgspec.ValidationError``.
    """
    schema = PAYLOAD_TYPES.get(kind)
    if schema is None:
        raise msgspec.ValidationError(f"unknown action kind {kind!r}")
    if not isinstance(payload, dict):
        raise msgspec.ValidationError("payload must be an object")
    msgspec.convert(payload, schema, strict=False)
    return payload
