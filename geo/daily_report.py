"""A rep's daily report: the day's visits (with check-in verdicts, actions and photos), expenses,
the route analysis and the map, as a JSON body or as one HTML document.

Pure: it takes the rep-day, its analysis and the day's rows in their wire form.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import msgspec

from api.lib.clock import parse_rfc3339
from geo.rep_day import HTML, JSON, PNG, RepDay, analyse, audit_png, public_audit
from geo.report_html import ReportSection, day_report_html
from geo.track import DayAnalysis

__all__ = ["DayRows", "report_body", "report_html", "report_rendition"]

ReportFormat = Literal["json", "html", "png"]


@dataclass(frozen=True, slots=True)
class DayRows:
    """The day's records in their wire form (as the REST endpoints show them)."""

    visits: Sequence[dict[str, Any]]
    actions: Sequence[dict[str, Any]]
    photos: Sequence[dict[str, Any]]
    expenses: Sequence[dict[str, Any]]
    customer_names: dict[str, str]


def _totals(expenses: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sum of expense totals per currency (decimal strings; unreadable totals are skipped)."""
    sums: dict[str | None, Decimal] = {}
    for e in expenses:
        try:
            amount = Decimal(str(e.get("total")))
        except (InvalidOperation, ValueError):
            continue
        if not amount.is_finite():
            continue
        sums[e.get("currency")] = sums.get(e.get("currency"), Decimal(0)) + amount
    return [{"currency": c, "total": f"{v:.2f}"} for c, v in sorted(sums.items(), key=lambda kv: kv[0] or "")]


def report_body(day: RepDay, analysis: DayAnalysis, rows: DayRows, map_url: str) -> dict[str, Any]:
    """The JSON report (:class:`geo.schemas.DailyReport`)."""
    audit = public_audit(analysis)
    by_visit_actions: dict[str, list[dict[str, Any]]] = {}
    for a in rows.actions:
        by_visit_actions.setdefault(a["visit_id"], []).append(a)
    by_visit_photos: dict[str, list[dict[str, Any]]] = {}
    for p in rows.photos:
        by_visit_photos.setdefault(p["visit_id"], []).append(p)
    verdicts = Counter(
        (v.get("check_in_verdict") or {}).get("status", "none") for v in rows.visits if v.get("check_in")
    )
    return {
        "rep": {"id": day.rep_id, "name": day.rep_name},
        "date": day.day.isoformat(),
        "timezone": day.timezone,
        "summary": {
            "visits": len(rows.visits),
            "visits_completed": sum(1 for v in rows.visits if v.get("status") == "completed"),
            "check_ins": dict(sorted(verdicts.items())),
            "actions": len(rows.actions),
            "photos": len(rows.photos),
            "expenses": len(rows.expenses),
            "expense_totals": _totals(rows.expenses),
            "route": audit["summary"],
        },
        "visits": [
            {
                "visit": v,
                "customer_name": rows.customer_names.get(v["customer_id"]),
                "actions": by_visit_actions.get(v["id"], []),
                "photos": by_visit_photos.get(v["id"], []),
            }
            for v in rows.visits
        ],
        "expenses": list(rows.expenses),
        "deviations": audit["deviations"],
        "stops": audit["stops"],
        "map_url": map_url,
    }


def _hm(value: str | None, day: RepDay) -> str:
    if not value:
        return ""
    try:
        at: datetime = parse_rfc3339(value)
    except ValueError:
        return ""
    return at.astimezone(day.tz).strftime("%H:%M")


def _sections(day: RepDay, rows: DayRows) -> list[ReportSection]:
    names = rows.customer_names
    visits = ReportSection(
        "Visits",
        ("planned", "check-in", "check-out", "customer", "status", "verdict", "reasons", "outcome"),
        [
            (
                _hm(v.get("planned_at"), day),
                _hm((v.get("check_in") or {}).get("at"), day),
                _hm((v.get("check_out") or {}).get("at"), day),
                names.get(v["customer_id"], v["customer_id"]),
                v.get("status") or "",
                (v.get("check_in_verdict") or {}).get("status", ""),
                ", ".join((v.get("check_in_verdict") or {}).get("reasons") or ()),
                v.get("outcome") or "",
            )
            for v in rows.visits
        ],
    )
    customer_of = {v["id"]: names.get(v["customer_id"], v["customer_id"]) for v in rows.visits}
    actions = ReportSection(
        "Actions",
        ("customer", "kind", "details"),
        [
            (
                customer_of.get(a["visit_id"], ""),
                a["kind"].replace("_", " "),
                ", ".join(f"{k}: {val}" for k, val in sorted((a.get("payload") or {}).items())),
            )
            for a in rows.actions
        ],
    )
    photos = ReportSection(
        "Photos",
        ("customer", "caption", "flags"),
        [
            (
                customer_of.get(p["visit_id"], ""),
                p.get("caption") or "",
                ", ".join((p.get("evidence") or {}).get("flags") or ()),
            )
            for p in rows.photos
        ],
    )
    expenses = ReportSection(
        "Expenses",
        ("date", "merchant", "category", "total", "status", "flags"),
        [
            (
                e.get("date") or "",
                e.get("merchant") or "",
                e.get("category_code") or "",
                f"{e.get('total') or ''} {e.get('currency') or ''}".strip(),
                e.get("status") or "",
                ", ".join(f.get("code", "") for f in e.get("flags") or ()),
            )
            for e in rows.expenses
        ],
    )
    return [visits, actions, photos, expenses]


def report_html(day: RepDay, analysis: DayAnalysis, rows: DayRows, map_png: bytes | None) -> str:
    """The report as one self-contained HTML document with the map embedded."""
    return day_report_html(
        analysis,
        title=f"Daily report · {day.title}",
        map_png=map_png,
        check_ins=day.marks(),
        customer_names={**day.customer_names, **rows.customer_names},
        tz=day.tz,
        sections=_sections(day, rows),
    )


def report_rendition(
    day: RepDay, rows: DayRows, fmt: ReportFormat, map_url: str, width: int = 1200, height: int = 900
) -> tuple[bytes, str]:
    """The report as the body of a response and its media type (CPU-bound: run it in a worker
    thread). ``png`` is the map alone, ``map_url`` where the JSON says to find it."""
    analysis = analyse(day)
    if fmt == "png":
        return audit_png(day, analysis, width, height), PNG
    if fmt == "html":
        return report_html(day, analysis, rows, audit_png(day, analysis, 1200, 900)).encode("utf-8"), HTML
    return msgspec.json.encode(report_body(day, analysis, rows, map_url)), JSON
