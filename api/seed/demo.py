"""Demo data: a Shanghai sales team with customers and a week of route plans, plus a second tenant.

Logins (password ``fieldline-demo``): admin@demo.test, manager1@demo.test, manager2@demo.test,
rep1@demo.test … rep8@demo.test (reps 1-4 in manager1's team, 5-8 in manager2's), and
admin@other.test, rep1@other.test in the second tenant.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import User
from api.accounts.users_service import create_team, create_user
from api.lib.ids import uuid7
from api.seed.shanghai import BUSINESS_KINDS, SHOP_NAMES, STREETS
from api.tenancy.models import Tenant
from sync.clock_repository import ensure_clock
from sync.entities import Actor
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.writer import SyncWriter

DEMO_PASSWORD = "fieldline-demo"
SYSTEM = Actor(user_id=None, role="system")

CATEGORIES = [
    ("meals", "Meals", "200.00"),
    ("fuel", "Fuel", "500.00"),
    ("transport", "Taxi and transport", "300.00"),
    ("parking", "Parking", "100.00"),
    ("lodging", "Lodging", "800.00"),
    ("office_supplies", "Office supplies", "300.00"),
    ("samples", "Samples and gifts", "1000.00"),
    ("other", "Other", None),
]
PRODUCTS = [
    ("SKU-1001", "Green tea 500 ml", "bottle", "4.50"),
    ("SKU-1002", "Jasmine tea 500 ml", "bottle", "4.50"),
    ("SKU-1003", "Oolong tea 1 L", "bottle", "7.80"),
    ("SKU-2001", "Soy milk 250 ml (24)", "case", "36.00"),
    ("SKU-2002", "Almond drink 250 ml (24)", "case", "58.00"),
    ("SKU-3001", "Instant noodles (30)", "case", "75.00"),
    ("SKU-3002", "Rice crackers 150 g", "pack", "9.90"),
    ("SKU-4001", "Hand sanitiser 500 ml", "bottle", "19.90"),
]


async def _tenant(session: AsyncSession, slug: str, name: str, tz: str, currency: str) -> Tenant | None:
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        return None
    tenant = Tenant(id=uuid7(), slug=slug, name=name, timezone=tz, settings={"default_currency": currency})
    session.add(tenant)
    await session.flush()
    await ensure_clock(session, tenant.id)
    return tenant


async def _write(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    clock: HybridClock,
    items: list[tuple[str, uuid.UUID, dict[str, object]]],
) -> None:
    writer = SyncWriter(session, tenant_id, SYSTEM)
    mutations = [
        Incoming(entity=e, id=i, op="upsert", hlc=clock.now(), base_version=None, fields=f)
        for e, i, f in items
    ]
    outcomes = await writer.apply(mutations)
    bad = [o for o in outcomes if o.status == "rejected"]
    if bad:
        raise RuntimeError(f"demo data rejected: {bad[0].error}")


async def seed_demo(session: AsyncSession, *, today: date | None = None) -> list[str]:
    """Create the demo tenants if missing. Returns the login lines to print."""
    clock = HybridClock()
    rng = random.Random(20261123)
    tenant = await _tenant(session, "demo", "Demo Trading Co. (Shanghai)", "Asia/Shanghai", "CNY")
    if tenant is not None:
        admin = await create_user(
            session,
            tenant_id=tenant.id,
            email="admin@demo.test",
            name="Admin Zhang",
            role="admin",
            password=DEMO_PASSWORD,
        )
        managers = []
        reps: list[User] = []
        for m in (1, 2):
            manager = await create_user(
                session,
                tenant_id=tenant.id,
                email=f"manager{m}@demo.test",
                name=["Manager Li", "Manager Wang"][m - 1],
                role="manager",
                password=DEMO_PASSWORD,
            )
            team = await create_team(session, tenant_id=tenant.id, name=f"Team {m}", manager_id=manager.id)
            manager.team_id = team.id
            managers.append(manager)
            for r in range(1, 5):
                n = (m - 1) * 4 + r
                reps.append(
                    await create_user(
                        session,
                        tenant_id=tenant.id,
                        email=f"rep{n}@demo.test",
                        name=f"Rep {n}",
                        role="rep",
                        password=DEMO_PASSWORD,
                        team_id=team.id,
                    )
                )
        del admin
        await _write(
            session,
            tenant.id,
            clock,
            [
                ("expense_category", uuid7(), {"code": c, "name": n, "daily_limit": lim, "currency": "CNY"})
                for c, n, lim in CATEGORIES
            ]
            + [
                ("product", uuid7(), {"sku": s, "name": n, "unit": u, "price": p, "currency": "CNY"})
                for s, n, u, p in PRODUCTS
            ],
        )
        customers: dict[uuid.UUID, list[uuid.UUID]] = {r.id: [] for r in reps}
        items = []
        for i in range(240):
            district, street, lat, lon = STREETS[i % len(STREETS)]
            kind_cn, _ = BUSINESS_KINDS[rng.randrange(len(BUSINESS_KINDS))]
            shop = SHOP_NAMES[rng.randrange(len(SHOP_NAMES))]
            rep = reps[i % len(reps)]
            cid = uuid7()
            customers[rep.id].append(cid)
            items.append(
                (
                    "customer",
                    cid,
                    {
                        "name": f"{shop}{kind_cn}（{street}店）",  # noqa: RUF001 - Chinese names use full-width brackets
                        "address": f"上海市{district}{street}{rng.randint(1, 1500)}号",
                        "lat": round(lat + rng.uniform(-0.004, 0.004), 6),
                        "lon": round(lon + rng.uniform(-0.004, 0.004), 6),
                        "status_tag": rng.choice(["green", "green", "green", "yellow", "red"]),
                        "assigned_rep_id": str(rep.id),
                        "contacts": [
                            {
                                "name": f"店长 {rng.choice('张王李赵刘陈杨黄周吴')}先生",
                                "phone": f"139{rng.randint(10**7, 10**8 - 1)}",
                                "role": "store manager",
                            }
                        ],
                    },
                )
            )
        await _write(session, tenant.id, clock, items)
        tz = ZoneInfo("Asia/Shanghai")
        start = today or datetime.now(tz).date()
        monday = start - timedelta(days=start.weekday())
        plans = []
        for rep in reps:
            for d in range(7):
                day = monday + timedelta(days=d)
                if day.weekday() >= 5:
                    continue
                picks = rng.sample(customers[rep.id], 6)
                stops = []
                for k, cid in enumerate(picks):
                    at = datetime(day.year, day.month, day.day, 9 + k, 30, tzinfo=tz).astimezone(UTC)
                    stops.append(
                        {"customer_id": str(cid), "planned_at": at.isoformat().replace("+00:00", "Z")}
                    )
                plans.append(
                    (
                        "route_plan",
                        uuid7(),
                        {
                            "rep_id": str(rep.id),
                            "date": day.isoformat(),
                            "name": f"{day.isoformat()} route",
                            "stops": stops,
                        },
                    )
                )
        await _write(session, tenant.id, clock, plans)

    other = await _tenant(session, "other", "Other Distribution Ltd.", "Europe/London", "GBP")
    if other is not None:
        await create_user(
            session,
            tenant_id=other.id,
            email="admin@other.test",
            name="Other Admin",
            role="admin",
            password=DEMO_PASSWORD,
        )
        rep = await create_user(
            session,
            tenant_id=other.id,
            email="rep1@other.test",
            name="Other Rep",
            role="rep",
            password=DEMO_PASSWORD,
        )
        await _write(
            session,
            other.id,
            clock,
            [
                (
                    "customer",
                    uuid7(),
                    {
                        "name": f"London Shop {i}",
                        "address": f"{i} High Street, London",
                        "lat": 51.50 + i * 0.002,
                        "lon": -0.12 - i * 0.002,
                        "assigned_rep_id": str(rep.id),
                    },
                )
                for i in range(1, 6)
            ],
        )
    return [
        "Demo logins (password: fieldline-demo)",
        "  admin@demo.test            admin, tenant 'demo' (Asia/Shanghai)",
        "  manager1@demo.test         manager of rep1..rep4",
        "  manager2@demo.test         manager of rep5..rep8",
        "  rep1@demo.test .. rep8@demo.test",
        "  admin@other.test, rep1@other.test   a second tenant, to see isolation",
    ]
