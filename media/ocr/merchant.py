"""Merchant name from the header of a receipt: the first meaningful line(s), legal names preferred."""

from __future__ import annotations

import re
from collections.abc import Sequence

from media.ocr.candidates import Candidate
from media.ocr.dates import find_dates
from media.ocr.lines import ReceiptLine
from media.ocr.text import cjk_ratio

_LEGAL_SUFFIX = re.compile(
    r"\b(?:SDN\.?\s?BHD\.?|SENDIRIAN BERHAD|BERHAD|BHD\.?|S/B|PLT|ENTERPRISES?|TRADING|CO\.|COMPANY|"
    r"CORP(?:ORATION)?\.?|INC\.?|LTD\.?|LIMITED|LLC|GMBH|PTE\.? LTD\.?|PTY\.? LTD\.?)(?=\W|$)|"
    r"有限公司|有限責任公司|股份公司|公司|商行|商店|超市|餐厅|餐廳|酒店|饭店|飯店|宾馆|賓館|加油站|药房|藥房|书店|門市|门市|店"
)
_BUSINESS_WORD = re.compile(
    r"\b(?:RESTORAN|RESTAURANT|KEDAI|CAFE|COFFEE|BAKERY|BAKERIES|HARDWARE|STATIONERY|PHARMACY|MART|"
    r"STORE|SHOP|HOTEL|PETROL|STATION|MARKET|BOOKS?|BISTRO|PUB|FOOD|KOPITIAM|ELECTRICAL|GALLERY|TRADING)\b"
)
# Lines that are never the merchant but may sit above it.
_NOISE = re.compile(
    r"TAX\s*INVOICE|^INVOICE$|RECEIPT|CASH\s*(?:SALES?|BILL)\b|WELCOME|THANK|POSTED|COPY|ERROR|WARNING|"
    r"^\W*(?:TAX\s*)?INVOICE\W*$|发票|收据|小票|欢迎|歡迎|^ORDER|^TABLE|^TEL\b"
)
# Lines that start the address / contact block: the merchant name comes before them.
_HEADER_END = re.compile(
    r"^(?:NO\b|NO\.|LOT\b|JALAN\b|JLN\b|TAMAN\b|\d+[A-Z]?\s?,|UNIT\b|BLOCK\b|BLK\b|GROUND|LEVEL|KM\b)|"
    r"\bJALAN\b|\bJLN\b|\bFLR\b|\bFLOOR\b|\bLEVEL\b|\bROAD\b|\bSTREET\b|\bAVENUE\b|\bTEL\b|\bFAX\b|PHONE|\bGST\b|\bSST\b|REG\.?\s*NO|CO\.?\s*REG|"
    r"\b\d{5}\b|地址|电话|電話|税号|路\d|号|號|OWNED BY|OPERATED BY|MEMBER OF|^DATE|日期"
)
_REG_NUMBER = re.compile(r"\(?\s*(?:CO\.?\s*(?:REG|NO)\.?\s*:?\s*)?\d{3,}[\d\s]*-?\s?[A-Z]?\s*\)?\s*$")
_TRAILING_JUNK = re.compile(r"(?:\s+(?:[^\w\s]|\w)){1,3}$")
_MAX_HEADER_LINES = 5
_PARENTHESES = re.compile(r"\([^)]*\)?")
_ABBREVIATION_END = re.compile(r"\b(?:CO|BHD|SDN|LTD|INC|CORP|PTE|PTY|BROS)\.$")


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _meaningful(line: ReceiptLine) -> bool:
    text = clean_name(line.text)
    letters = _letters(text)
    is_cjk = cjk_ratio(text) > 0.3
    if letters < (2 if is_cjk else 3):
        return False
    if letters / max(1, len(text.replace(" ", ""))) < 0.5:
        return False
    if line.confidence < 0.45:
        return False
    # Mostly one-letter "words" is logo or stamp residue.
    words = text.split()
    if not is_cjk and len(words) >= 2 and sum(len(w) <= 1 for w in words) / len(words) > 0.5:
        return False
    return not _NOISE.search(line.upper)


def clean_name(text: str) -> str:
    """Drop registration numbers, stray trailing marks and anything after the legal suffix."""
    name = text.strip(" .,:;|-_~'\"`*")
    suffixes = list(_LEGAL_SUFFIX.finditer(name.upper()))
    if suffixes:
        last = suffixes[-1]
        name = name[: last.end()]
    name = _REG_NUMBER.sub("", name).strip()
    name = re.sub(r"\(\s*\d[\w\s-]*\)?\s*$", "", name).strip()
    if cjk_ratio(name) < 0.3:
        name = _TRAILING_JUNK.sub("", name) if len(name.split()) > 2 else name
    name = re.sub(r"\s+", " ", name).strip(" ,:;|-_~'\"`*")
    if name.endswith(".") and not _ABBREVIATION_END.search(name.upper()):
        name = name.rstrip(" .")
    return name.lstrip(" .")


def merchant_candidates(lines: Sequence[ReceiptLine]) -> list[Candidate]:
    """Candidates for the merchant name with a score each (best first)."""
    header: list[ReceiptLine] = []
    address_seen = False
    for line in lines[:12]:
        if line.amounts or find_dates(line.text):
            break
        if _HEADER_END.search(_PARENTHESES.sub(" ", line.upper)):
            if header:
                break
            address_seen = True  # the name was above and unreadable: do not take a later line
            continue
        if address_seen:
            break
        if _meaningful(line):
            header.append(line)
        if len(header) >= _MAX_HEADER_LINES:
            break
    candidates: list[Candidate] = []
    for position, line in enumerate(header):
        upper = line.upper
        legal = _LEGAL_SUFFIX.search(upper) is not None
        name = clean_name(line.text)
        if legal and position > 0:
            previous = header[position - 1]
            words_before = _LEGAL_SUFFIX.split(upper, maxsplit=1)[0].split()
            if (
                previous.index == line.index - 1
                and not words_before
                and not _LEGAL_SUFFIX.search(previous.upper)
            ):
                name = clean_name(f"{previous.text} {line.text}")
        if len(name) < 2:
            continue
        score = 0.55 - 0.08 * position
        if legal:
            score += 0.35
        elif _BUSINESS_WORD.search(upper):
            score += 0.1
        score *= 0.6 + 0.4 * line.confidence
        candidates.append(Candidate(value=name, score=min(score, 1.0), line=line.index))
    candidates.sort(key=lambda c: -c.score)
    return candidates
