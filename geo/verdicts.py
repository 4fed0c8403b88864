"""Check-in verdicts inside the sync writer: a visit whose ``check_in`` changed is evaluated
against its customer's geofence, the rep's previous fix and the tenant's thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.customers.models import Customer
from api.lib.clock import parse_rfc3339, rfc3339, utcnow
from api.tenancy.models import Tenant
from api.tenancy.policy import tenant_settings
from api.visits.models import Visit
from geo.checkin import CheckInThresholds, CustomerSite, Fix, PreviousFix, evaluate_check_in
from geo.track_repository import TrackRepository
from sync.entities import Actor, EntitySpec

PREVIOUS_VISITS_LOOKED_AT = 20
#: How far back the rep's track is searched for the fix before a check-in.
PREVIOUS_FIX_WINDOW = timedelta(days=2)


def _fix(data: dict[str, Any]) -> Fix:
    return Fix(
        at=parse_rfc3339(data["at"]),
        lat=data["lat"],
        lon=data["lon"],
        accuracy_m=data.get("accuracy_m"),
        provider=data.get("provider"),
        is_mock=data.get("is_mock"),
        fix_at=parse_rfc3339(data["fix_at"]) if data.get("fix_at") else None,
    )


async def previous_fix(session: AsyncSession, visit: Any, at: datetime) -> PreviousFix | None:
    """The rep's latest fix before ``at``: a track point or another visit's check-in."""
    best: PreviousFix | None = None
    # Only the last two days: an older fix says nothing about speed anyway.
    point = await TrackRepository(session).latest_before(
        visit.tenant_id, visit.rep_id, at, at - PREVIOUS_FIX_WINDOW
    )
    if point is not None:
        best = PreviousFix(
            at=datetime.fromtimestamp(point.t_ms / 1000, tz=at.tzinfo),
            lat=point.lat,
            lon=point.lon,
            accuracy_m=point.accuracy_m,
        )
    others = await session.scalars(
        select(Visit)
        .where(
            Visit.tenant_id == visit.tenant_id,
            Visit.rep_id == visit.rep_id,
            Visit.id != visit.id,
            Visit.check_in.is_not(None),
            Visit.deleted_at.is_(None),
        )
        .order_by(Visit.updated_at.desc())
        .limit(PREVIOUS_VISITS_LOOKED_AT)
    )
    for other in others:
        try:
            other_at = parse_rfc3339(other.check_in["at"])
        except (KeyError, TypeError, ValueError):
            continue
        if other_at < at and (best is None or other_at > best.at):
            best = PreviousFix(
                at=other_at,
                lat=other.check_in["lat"],
                lon=other.check_in["lon"],
                accuracy_m=other.check_in.get("accuracy_m"),
            )
    return best


async def check_in_verdict_hook(
    session: AsyncSession, spec: EntitySpec, row: Any, changed: set[str], actor: Actor
) -> dict[str, Any]:
    if spec.name != "visit" or "check_in" not in changed or not row.check_in:
        return {}
    fix = _fix(row.check_in)
    customer = await session.get(Customer, row.customer_id)
    tenant = await session.get(Tenant, row.tenant_id)
    policy = tenant_settings(tenant.timezone if tenant else "UTC", tenant.settings if tenant else None)
    thresholds = CheckInThresholds(
        default_radius_m=policy.geofence_radius_m,
        max_accuracy_m=policy.max_accuracy_m,
        max_fix_age_s=policy.max_fix_age_s,
        max_speed_kmh=policy.max_speed_kmh,
        max_clock_skew_s=policy.max_clock_skew_s,
    )
    site = None
    if customer is not None:
        site = CustomerSite(
            lat=customer.lat,
            lon=customer.lon,
            geofence_radius_m=customer.geofence_radius_m,
            customer_id=str(customer.id),
            name=customer.name,
        )
    now = utcnow()
    verdict = evaluate_check_in(
        fix, site, await previous_fix(session, row, fix.at), now, thresholds, evaluated_at=now
    )
    return {
        "check_in_verdict": {
            "status": verdict.status,
            "distance_m": None if verdict.distance_m is None else round(verdict.distance_m, 1),
            "reasons": list(verdict.reasons),
            "evaluated_at": rfc3339(verdict.evaluated_at),
            "details": verdict.details,
        }
    }


#: The writer calls the hook only for mutations that changed one of these fields.
check_in_verdict_hook.watches = frozenset({"check_in"})  # type: ignore[attr-defined]
