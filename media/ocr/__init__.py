"""Receipt recognition: image or PDF bytes in, expense fields with confidences out (no HTTP, no SQL).

What a worker calls (all synchronous and CPU-bound: run them off the event loop, one per core,
with `OMP_THREAD_LIMIT=1` in the environment so tesseract stays on one thread):

- `extract_receipt(data, content_type, default_currency=..., languages=...) -> ReceiptExtraction`
  (`media.ocr.pipeline`); never raises on bad input, `unreadable` + `reason` instead.
- `receipt_hashes(data) -> ReceiptHashes` (`media.ocr.hashes`): sha256 + perceptual hash.
- `compute_flags(ReceiptRecord, today=..., prior=[...], policy=FlagPolicy(...)) -> list[Flag]`
  (`media.ocr.flags`), with `ReceiptRecord.from_extraction(...)`.
- `suggest_category(merchant, text, rules=CategoryRules(...)) -> Suggestion` (`media.ocr.categorize`).
- `parse_text` / `parse_lines` (`media.ocr.parse`): the pure parser, for text from elsewhere.
"""

from media.ocr.categorize import DEFAULT_RULES, CategoryRule, CategoryRules, Suggestion, suggest_category
from media.ocr.flags import FLAG_CODES, Flag, FlagPolicy, ReceiptRecord, compute_flags
from media.ocr.hashes import ReceiptHashes, receipt_hashes
from media.ocr.parse import parse_lines, parse_text
from media.ocr.pipeline import REASONS, extract_receipt
from media.ocr.types import ExtractedField, LineItem, OcrLine, ParsedReceipt, ReceiptExtraction

__all__ = [
    "DEFAULT_RULES",
    "FLAG_CODES",
    "REASONS",
    "CategoryRule",
    "CategoryRules",
    "ExtractedField",
    "Flag",
    "FlagPolicy",
    "LineItem",
    "OcrLine",
    "ParsedReceipt",
    "ReceiptExtraction",
    "ReceiptHashes",
    "ReceiptRecord",
    "Suggestion",
    "compute_flags",
    "extract_receipt",
    "parse_lines",
    "parse_text",
    "receipt_hashes",
    "suggest_category",
]
