"""`extract_receipt` end to end: bad inputs, rotated scans, PDFs, Chinese receipts, timeouts."""

from __future__ import annotations

import io

import msgspec
import numpy as np
import pytest
import receiptgen as gen
from ocr_labels import label_date, label_total
from PIL import Image
from sroie_data import Receipt

from media.ocr.categorize import CategoryRules
from media.ocr.pipeline import REASONS, extract_receipt
from media.ocr.recognize import available_languages

pytestmark = pytest.mark.usefixtures("tesseract")

needs_chinese = pytest.mark.skipif(
    "chi_sim" not in available_languages() or gen.font_path() is None,
    reason="needs tesseract chi_sim and a CJK font (fonts-noto-cjk)",
)


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    return gen.encode(image.convert("RGB"), "JPEG", quality=quality)


@pytest.mark.parametrize(
    ("name", "data", "content_type", "reasons"),
    [
        ("empty", b"", "image/jpeg", {"empty_file"}),
        ("text file", b"hello, this is not a picture", "image/jpeg", {"unsupported_format"}),
        ("corrupt jpeg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "image/jpeg", {"corrupt_image"}),
        ("corrupt pdf", b"%PDF-1.7\n1 0 obj <<>> endobj trailer", "application/pdf", {"corrupt_pdf"}),
        (
            "blank white",
            gen.encode(Image.new("RGB", (900, 1400), "white"), "PNG"),
            "image/png",
            {"blank_image"},
        ),
        (
            "gradient",
            gen.encode(Image.linear_gradient("L").resize((900, 1400)), "PNG"),
            "image/png",
            {"blank_image", "no_text", "no_receipt_fields"},
        ),
        ("landscape photo", gen.encode(gen.landscape(1)), "image/jpeg", {"no_text", "no_receipt_fields"}),
        ("another landscape", gen.encode(gen.landscape(2)), "image/jpeg", {"no_text", "no_receipt_fields"}),
        ("blank pdf", gen.blank_pdf(), "application/pdf", {"blank_image"}),
    ],
)
def test_bad_inputs_are_unreadable_not_errors(
    name: str, data: bytes, content_type: str, reasons: set[str]
) -> None:
    result = extract_receipt(data, content_type, default_currency="MYR")
    assert result.unreadable, name
    assert result.reason in reasons
    assert result.reason in REASONS
    assert "total" not in result.fields or result.fields["total"].confidence < 0.3


def test_truncated_receipt(sroie_by_id: dict[str, Receipt]) -> None:
    data = sroie_by_id["sroie-dev-038"].image.read_bytes()
    result = extract_receipt(data[: len(data) * 2 // 3], "image/jpeg", default_currency="MYR")
    assert result.unreadable
    assert result.reason == "corrupt_image"


@pytest.fixture(scope="module")
def clean_receipt(sroie_by_id: dict[str, Receipt]) -> Receipt:
    return sroie_by_id["sroie-dev-038"]  # EIGHT OUNCE COFFEE CO., 24-05-2018, 39.90


def test_upright_receipt(clean_receipt: Receipt) -> None:
    result = extract_receipt(clean_receipt.image.read_bytes(), "image/jpeg", default_currency="MYR")
    assert not result.unreadable
    assert result.value("total") == label_total(clean_receipt.total)
    assert result.value("date") == label_date(clean_receipt.date)
    assert result.value("currency") == "MYR"
    assert result.value("category_code") == "meals"
    assert result.rotation == 0
    assert result.passes == ("gray", "restored")
    assert set(result.timings) >= {"load", "preprocess", "ocr", "parse", "total"}
    assert result.engine.startswith("tesseract")
    assert "39" in result.raw_text
    extraction = result.to_extraction(raw_text_ref="media/123/ocr.txt")
    assert extraction["fields"]["total"] == {
        "value": "39.90",
        "confidence": pytest.approx(result.fields["total"].confidence, abs=0.001),
    }
    assert extraction["raw_text_ref"] == "media/123/ocr.txt"
    msgspec.json.encode(extraction)  # plain JSON-able data


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_receipt(clean_receipt: Receipt, degrees: int) -> None:
    image = Image.open(clean_receipt.image).rotate(degrees, expand=True)
    result = extract_receipt(_jpeg(image), "image/jpeg", default_currency="MYR")
    assert result.rotation == degrees
    assert result.value("total") == label_total(clean_receipt.total)
    assert result.value("date") == label_date(clean_receipt.date)


def test_exif_rotated_photo_needs_no_guessing(clean_receipt: Receipt) -> None:
    sideways = Image.open(clean_receipt.image).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # viewer must turn it 90 degrees clockwise
    data = gen.encode(sideways.convert("RGB"), "JPEG", quality=92, exif=exif.tobytes())
    result = extract_receipt(data, "image/jpeg", default_currency="MYR")
    assert result.rotation == 0
    assert result.value("total") == label_total(clean_receipt.total)


def test_receipt_scanned_to_pdf(clean_receipt: Receipt) -> None:
    result = extract_receipt(
        gen.image_pdf(Image.open(clean_receipt.image)), "application/pdf", default_currency="MYR"
    )
    assert result.pages == 1
    assert result.value("total") == label_total(clean_receipt.total)


def test_pdf_with_text_layer_skips_ocr() -> None:
    lines = [
        "ACME STATIONERY SDN BHD",
        "Date: 12/03/2018",
        "Pen 2 X 1.25 2.50",
        "Paper 10.00",
        "TOTAL RM 12.50",
        "CASH 20.00",
        "CHANGE 7.50",
    ]
    result = extract_receipt(gen.text_pdf(lines), "application/pdf", default_currency="MYR")
    assert not result.unreadable
    assert result.passes == ("pdf-text",)
    assert "ocr" not in result.timings
    assert (result.value("merchant"), result.value("date"), result.value("total")) == (
        "ACME STATIONERY SDN BHD",
        "2018-03-12",
        "12.50",
    )
    assert result.value("category_code") == "office_supplies"


def test_timeout_gives_unreadable(clean_receipt: Receipt) -> None:
    result = extract_receipt(
        clean_receipt.image.read_bytes(), "image/jpeg", default_currency="MYR", timeout=0.01
    )
    assert result.unreadable
    assert result.reason == "ocr_timeout"


def test_tenant_category_rules_and_month_first_dates() -> None:
    lines = ["JOE'S DINER", "03/04/2018 12:30", "Burger 9.50", "TOTAL $ 9.50"]
    rules = CategoryRules.from_mapping({"client_entertainment": ["DINER"]})
    result = extract_receipt(
        gen.text_pdf(lines), "application/pdf", default_currency="USD", category_rules=rules
    )
    assert result.value("date") == "2018-03-04"  # USD tenants read month first
    assert result.value("currency") == "USD"
    assert result.value("category_code") == "client_entertainment"


@needs_chinese
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_chinese_receipt_detected_and_read(seed: int) -> None:
    receipt = gen.chinese_receipt(seed)
    result = extract_receipt(receipt.jpeg(), "image/jpeg", default_currency="MYR")
    assert result.languages == "chi_sim+eng"
    assert result.value("total") == str(receipt.total)
    assert result.value("date") == receipt.date.isoformat()
    assert result.value("merchant") == receipt.merchant
    assert result.value("currency") == "CNY"
    if receipt.tax is not None:
        assert result.value("tax") == str(receipt.tax)


@needs_chinese
def test_chinese_requested_explicitly() -> None:
    receipt = gen.chinese_receipt(21)
    result = extract_receipt(
        receipt.jpeg(), "image/jpeg", default_currency="CNY", languages=["chi_sim", "eng"]
    )
    assert result.languages == "chi_sim+eng"
    assert result.value("total") == str(receipt.total)
    assert result.value("date") == receipt.date.isoformat()


def test_english_only_when_asked() -> None:
    receipt_like = Image.new("L", (700, 300), 255)
    result = extract_receipt(
        gen.encode(receipt_like, "PNG"), "image/png", default_currency="MYR", languages="eng"
    )
    assert result.languages == "eng"


def _png(image: Image.Image, **params: object) -> bytes:
    return gen.encode(image, "PNG", **params)


@pytest.mark.parametrize(
    ("name", "data", "reasons"),
    [
        ("1x1 pixel", _png(Image.new("RGB", (1, 1), "white")), {"blank_image"}),
        (
            "tiny noise",
            _png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (5, 5), dtype=np.uint8))),
            {"blank_image", "no_text"},
        ),
        (
            "sensor noise",
            _png(Image.fromarray(np.random.default_rng(2).integers(0, 255, (1200, 800), dtype=np.uint8))),
            {"no_text"},
        ),
        (
            "16-bit noise",
            _png(Image.fromarray(np.random.default_rng(1).integers(0, 65535, (300, 200)).astype(np.uint16))),
            {"no_text", "no_receipt_fields"},
        ),
        ("CMYK", gen.encode(Image.new("CMYK", (400, 600), (0, 0, 0, 0)), "JPEG"), {"blank_image"}),
        ("transparent", _png(Image.new("RGBA", (400, 600), (0, 0, 0, 0))), {"blank_image"}),
        ("all black", _png(Image.new("L", (800, 1200), 0)), {"blank_image"}),
        ("10000x10 strip", _png(Image.new("L", (10_000, 10), 0)), {"blank_image"}),
        ("GIF", gen.encode(Image.new("P", (100, 100)), "GIF"), {"unsupported_format"}),
    ],
)
def test_odd_images(name: str, data: bytes, reasons: set[str]) -> None:
    result = extract_receipt(data, "image/png", default_currency="MYR")
    assert result.unreadable, name
    assert result.reason in reasons
    assert result.timings["total"] < 20  # noise is refused before it reaches tesseract


@pytest.mark.parametrize("seed", range(6))
def test_never_raises_on_random_bytes(seed: int) -> None:
    import random

    rng = random.Random(seed)
    prefix = [b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"%PDF-1.4\n", b"RIFF\x00\x00\x00\x00WEBP"][
        seed % 5
    ]
    data = prefix + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 4000)))
    result = extract_receipt(data, "application/octet-stream", default_currency="MYR")
    assert result.unreadable
    assert result.reason in REASONS


def test_big_phone_photo_is_scaled_down(clean_receipt: Receipt) -> None:
    # A 4x enlarged receipt (as from a 48 MP camera) is still read and not slower than a few seconds of OCR.
    image = Image.open(clean_receipt.image)
    big = image.resize((image.width * 4, image.height * 4), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=85)
    result = extract_receipt(out.getvalue(), "image/jpeg", default_currency="MYR")
    assert result.value("total") == label_total(clean_receipt.total)
