# ruff: noqa: RUF001  (full-width Chinese punctuation is the test data)
"""Generated test inputs for the OCR tests: Chinese receipts with known fields, non-receipts, PDFs.

Everything is deterministic for a given seed. Chinese text is drawn with the Noto CJK font
(Debian `fonts-noto-cjk`); the helpers return None when the font is missing so tests can skip.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
LATIN_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
)

SHOPS = (
    "上海味道餐饮有限公司",
    "北京老街面馆",
    "广州南方大酒店",
    "杭州西湖茶餐厅",
    "深圳华联超市",
    "成都蜀香火锅店",
    "南京金陵文具店",
    "武汉江城加油站",
    "苏州园林宾馆",
    "重庆山城小吃店",
)
STREETS = ("上海市黄浦区南京东路", "北京市朝阳区建国路", "广州市天河区体育西路")
ITEMS = (
    ("宫保鸡丁", Decimal("38.00")),
    ("米饭", Decimal("2.00")),
    ("红烧牛肉面", Decimal("26.00")),
    ("可乐", Decimal("6.50")),
    ("矿泉水", Decimal("3.00")),
    ("小笼包", Decimal("18.00")),
    ("青菜", Decimal("12.00")),
    ("绿茶", Decimal("15.00")),
    ("打印纸", Decimal("29.90")),
    ("签字笔", Decimal("4.50")),
    ("咖啡", Decimal("32.00")),
    ("水饺", Decimal("22.00")),
)


@dataclass(frozen=True)
class GeneratedReceipt:
    image: Image.Image
    merchant: str
    date: dt.date
    total: Decimal
    tax: Decimal | None
    currency: str
    lines: tuple[str, ...]

    def jpeg(self, quality: int = 85) -> bytes:
        out = io.BytesIO()
        self.image.convert("RGB").save(out, format="JPEG", quality=quality)
        return out.getvalue()


def font_path(candidates: tuple[Path, ...] = CJK_FONTS) -> Path | None:
    return next((path for path in candidates if path.exists()), None)


def _font(size: int) -> ImageFont.FreeTypeFont:
    path = font_path()
    if path is None:
        raise FileNotFoundError("no CJK font installed")
    return ImageFont.truetype(str(path), size=size)


def _date_text(date: dt.date, style: int) -> str:
    if style == 0:
        return f"日期：{date.year}年{date.month}月{date.day}日"
    if style == 1:
        return f"日期：{date:%Y-%m-%d} 12:{date.day:02d}"
    return f"开票日期：{date:%Y/%m/%d}"


def chinese_receipt(seed: int, *, degrade: bool = True, font_size: int = 30) -> GeneratedReceipt:
    """A Chinese shop receipt with known merchant, date, total and tax, optionally degraded.

    Degradation (fixed by `seed`): rotation up to 1.5 degrees, Gaussian blur 0.3-0.8 px, sensor
    noise and a JPEG-like softening, like a phone photo of a thermal receipt on a flat table.
    """
    rng = random.Random(seed)
    merchant = rng.choice(SHOPS)
    date = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 800))
    picked = rng.sample(ITEMS, rng.randint(2, 5))
    rows: list[tuple[str, int, Decimal]] = [(name, rng.randint(1, 3), price) for name, price in picked]
    subtotal = sum((qty * price for _, qty, price in rows), Decimal("0.00"))
    with_tax = rng.random() < 0.5
    tax = (subtotal * Decimal("0.06")).quantize(Decimal("0.01")) if with_tax else None
    total = subtotal + (tax or Decimal("0"))
    paid = (total // 50 + 1) * 50
    change = paid - total
    lines = [
        merchant,
        f"地址：{rng.choice(STREETS)}{rng.randint(1, 300)}号",
        f"电话：0{rng.randint(20, 29)}-{rng.randint(1000_0000, 9999_9999)}",
        _date_text(date, rng.randrange(3)),
        f"单号：{rng.randint(10_000_000, 99_999_999)}",
        "-" * 24,
        "品名        数量     金额",
    ]
    lines += [f"{name:<8}{qty:>4}{qty * price:>10.2f}" for name, qty, price in rows]
    lines.append("-" * 24)
    lines.append(f"小计：¥{subtotal:.2f}")
    if tax is not None:
        lines.append(f"税额：¥{tax:.2f}")
    lines += [f"合计：¥{total:.2f}", f"实收：¥{paid:.2f}", f"找零：¥{change:.2f}", "谢谢惠顾，欢迎再次光临"]

    font = _font(font_size)
    width = font_size * 18
    height = int(font_size * 1.6 * (len(lines) + 4))
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y = font_size * 2
    for index, text in enumerate(lines):
        x = (width - draw.textlength(text, font=font)) / 2 if index == 0 else font_size
        draw.text((x, y), text, font=font, fill=rng.randint(0, 40))
        y += int(font_size * 1.6)
    if degrade:
        image = degrade_image(image, rng)
    return GeneratedReceipt(
        image=image, merchant=merchant, date=date, total=total, tax=tax, currency="CNY", lines=tuple(lines)
    )


ENGLISH_ITEMS = (
    ("CAPPUCCINO", Decimal("4.50")),
    ("BAGEL", Decimal("3.25")),
    ("CLUB SANDWICH", Decimal("11.90")),
    ("ICED TEA", Decimal("2.75")),
    ("CAESAR SALAD", Decimal("9.80")),
    ("SOUP OF THE DAY", Decimal("6.40")),
    ("MUFFIN", Decimal("2.95")),
)


def english_receipt(
    seed: int,
    *,
    merchant: str = "GREEN LEAF CAFE",
    date: dt.date | None = None,
    items: tuple[tuple[str, int, Decimal], ...] | None = None,
    tax_rate: Decimal | None = Decimal("0.08"),
    currency: str = "USD",
    degrade: bool = True,
    font_size: int = 24,
) -> GeneratedReceipt:
    """An English restaurant receipt (DejaVu Sans Mono) with known merchant, date, total and tax.

    `items` are (name, quantity, unit price); by default two to four are picked by `seed`. The date
    is printed as `14 MAR 2025` so that day and month cannot be confused.
    """
    rng = random.Random(seed)
    day = date or dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(0, 300))
    rows = items or tuple(
        (name, rng.randint(1, 2), price) for name, price in rng.sample(ENGLISH_ITEMS, rng.randint(2, 4))
    )
    subtotal = sum((qty * price for _, qty, price in rows), Decimal("0.00"))
    tax = (subtotal * tax_rate).quantize(Decimal("0.01")) if tax_rate is not None else None
    total = subtotal + (tax or Decimal("0"))
    paid = (total // 10 + 1) * 10
    width_chars = 30
    lines = [
        merchant,
        f"{rng.randint(10, 99)} MAIN STREET, SPRINGFIELD",
        f"TEL 555-{rng.randint(1000, 9999)}",
        f"DATE: {day.day:02d} {day.strftime('%b').upper()} {day.year}  "
        f"{rng.randint(10, 20)}:{rng.randint(10, 59)}",
        f"RECEIPT NO: {rng.randint(100_000, 999_999)}",
        "-" * width_chars,
    ]
    for name, qty, price in rows:
        amount = f"{qty * price:.2f}"
        lines.append(f"{qty} {name}".ljust(width_chars - len(amount)) + amount)
    lines.append("-" * width_chars)

    def money_line(label: str, value: Decimal) -> str:
        amount = f"{value:.2f}"
        return label.ljust(width_chars - len(amount)) + amount

    lines.append(money_line("SUBTOTAL", subtotal))
    if tax is not None:
        lines.append(money_line("SALES TAX", tax))
    lines += [
        money_line(f"TOTAL {currency}", total),
        money_line("CASH", paid),
        money_line("CHANGE", paid - total),
        "THANK YOU, COME AGAIN",
    ]
    path = font_path(LATIN_FONTS)
    if path is None:
        raise FileNotFoundError("no Latin monospace font installed")
    font = ImageFont.truetype(str(path), size=font_size)
    width = int(font_size * 0.62 * width_chars) + 2 * font_size
    height = int(font_size * 1.5 * (len(lines) + 4))
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y = font_size * 2
    for index, text in enumerate(lines):
        x = (width - draw.textlength(text, font=font)) / 2 if index < 3 else font_size
        draw.text((x, y), text, font=font, fill=rng.randint(0, 40))
        y += int(font_size * 1.5)
    if degrade:
        image = degrade_image(image, rng)
    return GeneratedReceipt(
        image=image, merchant=merchant, date=day, total=total, tax=tax, currency=currency, lines=tuple(lines)
    )


def degrade_image(image: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.uniform(-1.5, 1.5)
    out = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    arr = np.asarray(out, dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 6, arr.shape)
    arr = np.clip(arr * rng.uniform(0.85, 1.0) + 20 + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def landscape(seed: int, size: tuple[int, int] = (1200, 800)) -> Image.Image:
    """A photo-like picture without any text: sky gradient, hills, a sun, some texture."""
    rng = np.random.default_rng(seed)
    width, height = size
    y = np.linspace(0, 1, height)[:, None]
    sky = np.stack([120 + 80 * y, 170 + 60 * y, 250 - 30 * y], axis=-1) * np.ones((1, width, 1))
    image = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for layer in range(3):
        base = height * (0.55 + 0.12 * layer)
        xs = np.linspace(0, width, 40)
        ys = base + rng.normal(0, 25, xs.size).cumsum() * 0.3
        draw.polygon(
            [(0, height), *zip(xs.tolist(), ys.tolist(), strict=True), (width, height)],
            fill=(40 + 30 * layer, 110 + 25 * layer, 50 + 10 * layer),
        )
    draw.ellipse((width * 0.7, height * 0.1, width * 0.7 + 90, height * 0.1 + 90), fill=(255, 230, 120))
    texture = rng.normal(0, 8, (height, width, 3))
    arr = np.clip(np.asarray(image, dtype=np.float32) + texture, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB").filter(ImageFilter.GaussianBlur(1.2))


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def blank_pdf() -> bytes:
    """A one-page PDF made by Pillow from a white A4 page: no text layer, no content."""
    return encode(Image.new("RGB", (1240, 1754), "white"), "PDF", resolution=150)


def image_pdf(image: Image.Image) -> bytes:
    """A PDF whose only page is `image` (a scanned receipt saved as PDF)."""
    return encode(image.convert("RGB"), "PDF", resolution=150)


def text_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a real text layer (Helvetica), as e-receipts are sent."""
    content = ["BT", "/F1 11 Tf", "14 TL", "40 800 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        content.append(f"({escaped}) Tj T*")
    content.append("ET")
    stream = "\n".join(content).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()
