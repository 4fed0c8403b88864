"""The sroie-dev receipts as test data: manifest entries, images and line transcriptions, read in place."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from media.ocr.types import OcrLine

SROIE_DIR = Path(os.environ.get("FIELDLINE_SROIE_DEV", "/work/shared/receipts/sroie-dev"))


@dataclass(frozen=True)
class Receipt:
    id: str
    image: Path
    lines_csv: Path
    company: str
    date: str
    total: str
    sha256: str
    duplicate_case: str | None
    pair_id: str | None

    def ground_truth_lines(self) -> list[OcrLine]:
        """The dataset's line transcriptions with their boxes (confidence 1: no OCR involved)."""
        lines = []
        with self.lines_csv.open(newline="") as handle:
            for row in csv.reader(handle):
                if len(row) < 9:
                    continue
                xs = [int(v) for v in row[0:8:2]]
                ys = [int(v) for v in row[1:8:2]]
                text = ",".join(row[8:])
                box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
                lines.append(OcrLine(text=text, confidence=1.0, box=box))
        return lines


def load_manifest() -> list[Receipt]:
    manifest = SROIE_DIR / "manifest.jsonl"
    receipts = []
    for raw in manifest.read_text().splitlines():
        entry = json.loads(raw)
        receipts.append(
            Receipt(
                id=entry["id"],
                image=SROIE_DIR / entry["image"],
                lines_csv=SROIE_DIR / entry["lines"],
                company=entry["label_company"],
                date=entry["label_date"],
                total=entry["label_total"],
                sha256=entry["sha256"],
                duplicate_case=entry.get("duplicate_case"),
                pair_id=entry.get("pair_id"),
            )
        )
    return receipts
