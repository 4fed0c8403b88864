"""The route audit as a self-contained HTML document (the map part of the rep's daily report).

No template engine and no external assets: the map PNG is embedded as a data URI and every
piece of text coming from users (customer names, titles, details) is HTML-escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from html import escape

from geo.checkin import CheckInMark
from geo.track.result import DayAnalysis

__all__ = ["ReportSection", "day_report_html"]

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans",system-ui,sans-serif;color:#212529;margin:24px}
body{max-width:1240px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.facts{color:#6c757d;margin:0 0 16px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e2dc}
th{background:#f8f8f5}
.k-off_route,.k-missed_visit,.s-rejected{color:#dc2626}.k-long_dwell{color:#9333ea}
.k-unplanned_visit,.s-suspicious{color:#b45309}.s-verified{color:#16a34a}
img{max-width:100%;border:1px solid #dcdcd6}
""".strip()


@dataclass(frozen=True, slots=True)
class ReportSection:
    """An extra titled table after the audit's own (visits, expenses ...); every cell is text and
    is escaped."""

    title: str
    head: Sequence[str]
    rows: Sequence[Sequence[str]]


def day_report_html(
    analysis: DayAnalysis,
    *,
    title: str = "Route audit",
    map_png: bytes | None = None,
    check_ins: Sequence[CheckInMark] = (),
    customer_names: Mapping[str, str] | None = None,
    tz: tzinfo = UTC,
    sections: Sequence[ReportSection] = (),
) -> str:
    """A complete HTML document: summary, map, stops, deviations and check-ins.

    Args:
        analysis: the analysed day.
        title: heading (rep name, date); escaped.
        map_png: the picture from :func:`geo.render.render_day_png`, embedded when given.
        check_ins: the day's check-ins with their verdicts.
        customer_names: display names by customer id; escaped.
        tz: time zone for the printed times (the tenant's zone).
        sections: further tables appended at the end (the daily report's visits, expenses ...).
    """
    names = dict(customer_names or {})
    s = analysis.summary

    def who(customer_id: str | None) -> str:
        return escape(names.get(customer_id, customer_id)) if customer_id else ""

    facts = [
        f"{_hm(s.first_fix_at, tz)}-{_hm(s.last_fix_at, tz)}",
        f"{s.km_travelled:.1f} km",
        f"{s.visited_count}/{s.planned_count} planned visits",
        f"on site {_duration(s.time_on_site_s)}",
        f"moving {_duration(s.time_moving_s)}",
        f"{len(analysis.deviations)} deviations",
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="facts">{" · ".join(escape(f) for f in facts)}</p>',
    ]
    if map_png is not None:
        data = base64.b64encode(map_png).decode("ascii")
        parts.append(f'<img alt="Map of the day" src="data:image/png;base64,{data}">')

    parts.append("<h2>Stops</h2>")
    rows = [
        (
            str(n),
            _hm(stop.start, tz),
            _hm(stop.end, tz),
            _duration(stop.duration_s),
            "customer visit" if stop.kind == "customer_visit" else "unplanned stop",
            who(stop.customer_id),
        )
        for n, stop in enumerate(analysis.stops, start=1)
    ]
    parts.append(_table(("#", "from", "to", "duration", "kind", "customer"), rows, raw_columns=(5,)))

    parts.append("<h2>Deviations</h2>")
    dev_rows = []
    classes = []
    for d in analysis.deviations:
        dev_rows.append(
            (
                d.kind.replace("_", " "),
                _hm(d.start, tz) if d.start else "",
                _hm(d.end, tz) if d.end else "",
                f"{d.max_distance_m:.0f} m" if d.max_distance_m is not None else "",
                who(d.customer_id),
                escape(d.detail),
            )
        )
        classes.append(f"k-{d.kind}")
    parts.append(
        _table(
            ("kind", "from", "to", "distance", "customer", "detail"), dev_rows, classes, raw_columns=(4, 5)
        )
    )

    if check_ins:
        parts.append("<h2>Check-ins</h2>")
        ci_rows = [
            (
                _hm(c.at, tz),
                who(c.customer_id) or escape(c.customer_name or ""),
                c.status,
                f"{c.distance_m:.0f} m" if c.distance_m is not None else "",
                ", ".join(c.reasons),
            )
            for c in check_ins
        ]
        parts.append(
            _table(
                ("time", "customer", "verdict", "distance", "reasons"),
                ci_rows,
                [f"s-{c.status}" for c in check_ins],
                raw_columns=(1,),
            )
        )
    for section in sections:
        parts.append(f"<h2>{escape(section.title)}</h2>")
        parts.append(_table(section.head, section.rows))
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    row_classes: Sequence[str] | None = None,
    raw_columns: Sequence[int] = (),
) -> str:
    """An HTML table; cells are escaped except ``raw_columns`` (already escaped by the caller)."""
    if not rows:
        return '<p class="facts">None.</p>'
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        cls = f' class="{escape(row_classes[i])}"' if row_classes else ""
        cells = (cell if j in raw_columns else escape(cell) for j, cell in enumerate(row))
        out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _hm(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%H:%M") if value else "--:--"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
