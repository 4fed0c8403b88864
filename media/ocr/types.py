"""Plain data passed between the OCR stages (no I/O, no web or database types)."""

from __future__ import annotations

from typing import Any

import msgspec


class OcrWord(msgspec.Struct, frozen=True):
    """One word as the OCR engine saw it; `confidence` is in [0, 1]."""

    text: str
    confidence: float
    box: tuple[int, int, int, int] | None = None  # left, top, width, height in pixels


class OcrLine(msgspec.Struct, frozen=True):
    """One visual text line; `confidence` is the mean word confidence in [0, 1]."""

    text: str
    confidence: float = 1.0
    box: tuple[int, int, int, int] | None = None
    words: tuple[OcrWord, ...] = ()


class ExtractedField(msgspec.Struct, frozen=True):
    """A field value with a confidence in [0, 1], as stored in `expense.extraction.fields`."""

    value: Any
    confidence: float


class LineItem(msgspec.Struct, frozen=True):
    description: str
    amount: str  # decimal string, 2 places
    quantity: str | None = None
    unit_price: str | None = None


class ParsedReceipt(msgspec.Struct):
    """Fields found in the text of one receipt; absent fields are simply not in `fields`."""

    fields: dict[str, ExtractedField] = msgspec.field(default_factory=dict)

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return None if found is None else found.value

    def confidence(self, name: str) -> float:
        found = self.fields.get(name)
        return 0.0 if found is None else found.confidence


class ReceiptExtraction(msgspec.Struct):
    """What `extract_receipt` returns.

    `fields` maps a field name (`merchant`, `date`, `total`, `tax`, `currency`, ...) to its value and
    confidence; `unreadable` is set with a `reason` when nothing sensible was found.
    """

    engine: str
    fields: dict[str, ExtractedField]
    raw_text: str
    languages: str
    unreadable: bool = False
    reason: str | None = None
    timings: dict[str, float] = msgspec.field(default_factory=dict)
    pages: int = 0
    rotation: int = 0
    passes: tuple[str, ...] = ()

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return None if found is None else found.value

    def to_extraction(self, raw_text_ref: str | None = None) -> dict[str, Any]:
        """The `expense.extraction` object of the wire contract."""
        return {
            "engine": self.engine,
            "fields": {
                name: {"value": field.value, "confidence": round(field.confidence, 3)}
                for name, field in self.fields.items()
            },
            "raw_text_ref": raw_text_ref,
        }
