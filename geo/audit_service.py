"""Route audits and daily reports: who may see which rep-day, and loading it from the database.

Loading is database work on the event loop; the analysis, the drawing and the encoding are CPU
work and run in a worker thread (:func:`in_thread`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from api.customers.models import Customer
from api.lib.clock import parse_rfc3339
from api.lib.errors import Forbidden, NotFound, ValidationFailed, field_error
from api.tenancy.models import Tenant
from api.tenancy.policy import tenant_settings
from api.visits.models import Visit
from geo.checkin import CustomerSite
from geo.daily_report import DayRows
from geo.day_repository import DayRepository
from geo.rep_day import CheckIn, RepDay, analysis_params
from geo.track import PlannedStop, RoutePlan, Track
from geo.track_repository import TrackRepository
from sync.entities import ENTITIES
from sync.serialize import entity_data

__all__ = ["DayRecords", "RouteAuditService", "in_thread", "parse_day"]

T = TypeVar("T")

#: Customers this far (degrees of latitude, ~2.2 km) around the day's fixes are candidates for
#: unplanned visits; geofences are at most 1 km.
_CUSTOMER_MARGIN_DEG = 0.02


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound work (analysis, Pillow) off the event loop."""
    return await anyio.to_thread.run_sync(fn, *args)


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` or a 422 naming the ``date`` field."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(
            "date must be a calendar date YYYY-MM-DD",
            errors=[field_error("date", "invalid", "expected YYYY-MM-DD")],
        ) from exc


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a calendar day in ``tz``, in UTC (23 or 25 hours across DST)."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


@dataclass(frozen=True, eq=False)
class DayRecords:
    """The rep-day plus the day's visit rows and the customers they name, for the daily report."""

    day: RepDay
    visits: list[Visit]
    customers: dict[uuid.UUID, Customer]


class RouteAuditService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.repo = DayRepository(session, principal.tenant_id)

    async def audit(self, rep_id: uuid.UUID, day: date) -> RepDay:
        """The day for a route audit (managers of the rep's team and admins)."""
        return (await self.load(rep_id, day, managers_only=True)).day

    async def report(self, rep_id: uuid.UUID, day: date) -> tuple[RepDay, DayRows]:
        """The day and its records for the daily report (also the rep themselves)."""
        records = await self.load(rep_id, day, managers_only=False)
        visit_ids = [v.id for v in records.visits]
        actions = await self.repo.actions(visit_ids)
        photos = await self.repo.photos(visit_ids)
        expenses = await self.repo.expenses(rep_id, day, visit_ids)
        rows = DayRows(
            visits=[entity_data(ENTITIES["visit"], v) for v in records.visits],
            actions=[entity_data(ENTITIES["visit_action"], a) for a in actions],
            photos=[entity_data(ENTITIES["photo"], p) for p in photos],
            expenses=[entity_data(ENTITIES["expense"], e) for e in expenses],
            customer_names={str(k): c.name for k, c in records.customers.items()},
        )
        return records.day, rows

    async def load(self, rep_id: uuid.UUID, day: date, *, managers_only: bool) -> DayRecords:
        """Everything about the rep's day, after the access checks.

        Route audits are for managers (their teams' reps) and admins; daily reports also for the
        rep. A rep outside the caller's scope, or of another tenant, is not found.
        """
        if managers_only and self.principal.role not in {"manager", "admin"}:
            raise Forbidden("Route audits are for managers and admins")
        rep = await self.repo.user(rep_id)
        if rep is None or not self.principal.sees_rep(rep_id):
            raise NotFound("rep not found")
        tenant = await self.session.get(Tenant, self.principal.tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        policy = tenant_settings(tenant.timezone, tenant.settings)
        tz = ZoneInfo(policy.timezone)
        start, end = day_bounds(day, tz)

        points = await TrackRepository(self.session).day(self.principal.tenant_id, rep_id, start, end)
        track = Track.from_arrays(
            points.t_ms / 1000.0, points.lat, points.lon, points.accuracy_m, points.speed_mps
        )
        plan_row = await self.repo.route_plan(rep_id, day)
        stop_ids = [uuid.UUID(str(s["customer_id"])) for s in (plan_row.stops if plan_row else [])]
        planned = {c.id: c for c in await self.repo.customers_by_id(stop_ids)}

        candidates = await self.repo.visit_candidates(
            rep_id, start, end, start - timedelta(seconds=policy.max_clock_skew_s)
        )
        visits = [v for v in candidates if _belongs_to_day(v, start, end)]
        nearby = await self._nearby_customers(points.lat, points.lon)
        customers = {c.id: c for c in nearby}
        customers.update(planned)
        missing = {v.customer_id for v in visits} - customers.keys()
        customers.update({c.id: c for c in await self.repo.customers_by_id(missing)})

        plan, unlocated = _plan(plan_row, planned) if plan_row is not None else (None, [])
        rep_day = RepDay(
            rep_id=str(rep_id),
            rep_name=rep.name,
            day=day,
            timezone=policy.timezone,
            tz=tz,
            track=track,
            plan=plan,
            customers=[_site(c) for c in nearby if c.lat is not None and c.lon is not None],
            check_ins=sorted(
                (c for c in (_check_in(v, customers.get(v.customer_id), start, end) for v in visits) if c),
                key=lambda c: c.at,
            ),
            customer_names={str(c.id): c.name for c in customers.values()},
            params=analysis_params(policy),
            unlocated_stops=unlocated,
        )
        return DayRecords(rep_day, visits, customers)

    async def _nearby_customers(self, lat: Any, lon: Any) -> list[Customer]:
        if len(lat) == 0:
            return []
        ok = (abs(lat) <= 90) & (abs(lon) <= 180)
        if not ok.any():
            return []
        lat_min, lat_max = float(lat[ok].min()), float(lat[ok].max())
        lon_min, lon_max = float(lon[ok].min()), float(lon[ok].max())
        lon_margin = _CUSTOMER_MARGIN_DEG / max(math.cos(math.radians(max(abs(lat_min), abs(lat_max)))), 0.05)
        return await self.repo.located_customers_in(
            lat_min - _CUSTOMER_MARGIN_DEG,
            lat_max + _CUSTOMER_MARGIN_DEG,
            lon_min - lon_margin,
            lon_max + lon_margin,
        )


def _check_in_time(visit: Visit) -> datetime | None:
    try:
        return parse_rfc3339(str(visit.check_in["at"])) if visit.check_in else None
    except (KeyError, TypeError, ValueError):
        return None


def _belongs_to_day(visit: Visit, start: datetime, end: datetime) -> bool:
    """Checked in during the day, or not checked in and planned for it."""
    at = _check_in_time(visit)
    if at is not None:
        return start <= at < end
    return visit.planned_at is not None and start <= visit.planned_at < end


def _check_in(visit: Visit, customer: Customer | None, start: datetime, end: datetime) -> CheckIn | None:
    at = _check_in_time(visit)
    if at is None or not start <= at < end:
        return None
    fix: dict[str, Any] = visit.check_in or {}
    verdict: dict[str, Any] = visit.check_in_verdict or {}
    return CheckIn(
        visit_id=str(visit.id),
        customer_id=str(visit.customer_id),
        customer_name=customer.name if customer else None,
        at=at,
        lat=float(fix["lat"]),
        lon=float(fix["lon"]),
        accuracy_m=fix.get("accuracy_m"),
        status=verdict.get("status"),
        distance_m=verdict.get("distance_m"),
        reasons=tuple(verdict.get("reasons") or ()),
    )


def _site(c: Customer) -> CustomerSite:
    return CustomerSite(
        lat=c.lat, lon=c.lon, geofence_radius_m=c.geofence_radius_m, customer_id=str(c.id), name=c.name
    )


def _plan(row: Any, customers: dict[uuid.UUID, Customer]) -> tuple[RoutePlan, list[str]]:
    """The stored plan with each stop's customer located; stops without a location are listed."""
    stops: list[PlannedStop] = []
    unlocated: list[str] = []
    for item in row.stops or []:
        cid = uuid.UUID(str(item["customer_id"]))
        c = customers.get(cid)
        if c is None or c.lat is None or c.lon is None or c.deleted_at is not None:
            unlocated.append(str(cid))
            continue
        planned_at = item.get("planned_at")
        stops.append(
            PlannedStop(
                customer_id=str(cid),
                lat=c.lat,
                lon=c.lon,
                planned_at=parse_rfc3339(planned_at) if planned_at else None,
                radius_m=c.geofence_radius_m,
                name=c.name,
            )
        )
    return RoutePlan(stops=stops, path=row.path), unlocated
