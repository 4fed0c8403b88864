"""Queries for one rep-day: the plan, the customers, the visits and what hangs off them."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import User
from api.customers.models import Customer
from api.expenses.models import Expense
from api.photos.models import Photo
from api.routes.models import RoutePlan
from api.visits.models import Visit, VisitAction

__all__ = ["DayRepository"]


class DayRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def user(self, user_id: uuid.UUID) -> User | None:
        """A live user of the tenant."""
        return await self.session.scalar(
            select(User).where(
                User.id == user_id, User.tenant_id == self.tenant_id, User.deleted_at.is_(None)
            )
        )

    async def route_plan(self, rep_id: uuid.UUID, day: date) -> RoutePlan | None:
        """The rep's plan for the day (the most recently changed one if there are several)."""
        return await self.session.scalar(
            select(RoutePlan)
            .where(
                RoutePlan.tenant_id == self.tenant_id,
                RoutePlan.rep_id == rep_id,
                RoutePlan.date == day,
                RoutePlan.deleted_at.is_(None),
            )
            .order_by(RoutePlan.version.desc())
            .limit(1)
        )

    async def customers_by_id(self, ids: Collection[uuid.UUID]) -> list[Customer]:
        if not ids:
            return []
        return list(
            await self.session.scalars(
                select(Customer).where(Customer.tenant_id == self.tenant_id, Customer.id.in_(sorted(ids)))
            )
        )

    async def located_customers_in(
        self, lat_min: float, lat_max: float, lon_min: float, lon_max: float
    ) -> list[Customer]:
        """Live customers with a location inside the box (degrees)."""
        return list(
            await self.session.scalars(
                select(Customer).where(
                    Customer.tenant_id == self.tenant_id,
                    Customer.deleted_at.is_(None),
                    Customer.lat.between(lat_min, lat_max),
                    Customer.lon.between(lon_min, lon_max),
                )
            )
        )

    async def visit_candidates(
        self, rep_id: uuid.UUID, start: datetime, end: datetime, written_since: datetime
    ) -> list[Visit]:
        """Visits that may belong to the day ``[start, end)``: planned in it, or checked in and
        written since ``written_since`` (a check-in is stored when or after it happens, so with
        ``written_since`` a little before ``start`` for device clock skew, older rows cannot hold
        one from this day). The caller keeps those whose check-in falls in the day."""
        return list(
            await self.session.scalars(
                select(Visit)
                .where(
                    Visit.tenant_id == self.tenant_id,
                    Visit.rep_id == rep_id,
                    Visit.deleted_at.is_(None),
                    or_(
                        and_(Visit.planned_at >= start, Visit.planned_at < end),
                        and_(Visit.check_in.is_not(None), Visit.updated_at >= written_since),
                    ),
                )
                .order_by(Visit.planned_at, Visit.created_at)
            )
        )

    async def actions(self, visit_ids: Collection[uuid.UUID]) -> list[VisitAction]:
        if not visit_ids:
            return []
        return list(
            await self.session.scalars(
                select(VisitAction)
                .where(
                    VisitAction.tenant_id == self.tenant_id,
                    VisitAction.visit_id.in_(sorted(visit_ids)),
                    VisitAction.deleted_at.is_(None),
                )
                .order_by(VisitAction.created_at, VisitAction.id)
            )
        )

    async def photos(self, visit_ids: Collection[uuid.UUID]) -> list[Photo]:
        if not visit_ids:
            return []
        return list(
            await self.session.scalars(
                select(Photo)
                .where(
                    Photo.tenant_id == self.tenant_id,
                    Photo.visit_id.in_(sorted(visit_ids)),
                    Photo.deleted_at.is_(None),
                )
                .order_by(Photo.created_at, Photo.id)
            )
        )

    async def expenses(self, rep_id: uuid.UUID, day: date, visit_ids: Collection[uuid.UUID]) -> list[Expense]:
        """The rep's expenses dated that day or attached to one of the day's visits."""
        of_day = Expense.date == day.isoformat()
        cond = or_(of_day, Expense.visit_id.in_(sorted(visit_ids))) if visit_ids else of_day
        return list(
            await self.session.scalars(
                select(Expense)
                .where(
                    Expense.tenant_id == self.tenant_id,
                    Expense.rep_id == rep_id,
                    Expense.deleted_at.is_(None),
                    cond,
                )
                .order_by(Expense.created_at, Expense.id)
            )
        )
