"""The HTML route audit: well-formed, escaped, and carrying the day's rows."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from trackgen import DayBuilder

from geo.checkin import CheckInMark
from geo.report_html import day_report_html
from geo.track import RoutePlan, Track, analyze_day

A, B, C = (2000.0, 0.0), (4000.0, 1500.0), (6000.0, 0.0)
EVIL = '<script>alert("x")</script>'


class Collector(HTMLParser):
    """Tag balance, table rows and text, as a browser would see them."""

    VOID = frozenset({"meta", "img", "br"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.img_src: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.img_src.append(dict(attrs)["src"] or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    c = Collector()
    c.feed(html)
    c.close()
    assert c.stack == []
    return c


def build():
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(20 * 60)
    b.drive_to(3000.0, 750.0)
    b.stay(8 * 60)
    b.drive_to(*B)
    b.stay(10 * 60)
    plan = RoutePlan(stops=[b.planned("A", *A), b.planned("B", *B), b.planned("C", *C)])
    return b, plan, analyze_day(b.track(), plan)


def test_document_is_well_formed_and_has_every_section() -> None:
    _, _, analysis = build()
    png = b"\x89PNG\r\n\x1a\nfake"
    html = day_report_html(analysis, title="王小明 · 2025-03-04", map_png=png, tz=ZoneInfo("Asia/Shanghai"))
    doc = parse(html)
    text = " ".join(doc.text)
    assert "王小明 · 2025-03-04" in text
    assert "Stops" in text
    assert "Deviations" in text
    assert doc.img_src == ["data:image/png;base64," + base64.b64encode(png).decode()]
    # Three stops (A, an unplanned stop, B) and one deviation (C missed): header + rows.
    assert doc.tags.count("tr") == (1 + 3) + (1 + 1)
    # Times are printed in the tenant's zone (the day starts 08:30 in Shanghai).
    assert "08:3" in text


def test_user_text_is_escaped() -> None:
    _, _, analysis = build()
    marks = [
        CheckInMark(
            at=datetime(2025, 3, 4, 1, 0, tzinfo=UTC),
            lat=31.2,
            lon=121.5,
            status="suspicious",
            customer_id="A",
            reasons=("outside_geofence",),
        )
    ]
    html = day_report_html(analysis, title=EVIL, check_ins=marks, customer_names={"A": EVIL, "C": EVIL})
    assert "<script>" not in html
    doc = parse(html)
    assert "script" not in doc.tags
    assert EVIL in " ".join(doc.text)  # shown as text
    assert 'class="s-suspicious"' in html


def test_empty_sections_say_none() -> None:
    html = day_report_html(analyze_day(Track.from_arrays([], [], [])))
    doc = parse(html)
    assert " ".join(doc.text).count("None.") == 2
    assert "img" not in doc.tags
