"""Nearest customers to a point, answered through the spatial index on both engines.

A bounding box around the point selects candidates through the index (GiST ``&&`` on PostGIS,
the ``SpatialIndex`` R*Tree on SpatiaLite); exact geodesic distance filters and orders them.
Without ``within_m`` the box grows until it holds enough customers.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, text

from api.customers.models import Customer
from api.lib.errors import ValidationFailed, field_error
from sync.entities import EntitySpec
from sync.serialize import entity_data

_RADII_M = (2_000.0, 10_000.0, 50_000.0, 250_000.0, 1_000_000.0)


def parse_near(value: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = value.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError as exc:
        raise ValidationFailed(
            "near must be 'lat,lon'", errors=[field_error("near", "invalid", "expected lat,lon")]
        ) from exc
    if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ValidationFailed(
            "near is out of range",
            errors=[field_error("near", "out_of_range", "lat in [-90, 90], lon in [-180, 180]")],
        )
    return lat, lon


def _bbox(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    return lon - dlon, max(lat - dlat, -90.0), lon + dlon, min(lat + dlat, 90.0)


def _index_filter(dialect: str, box: tuple[float, float, float, float]) -> ColumnElement[bool]:
    minx, miny, maxx, maxy = box
    if dialect == "postgresql":
        return Customer.location.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))  # type: ignore[no-any-return]
    return literal_column("customers.ROWID").in_(
        text(
            "SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'customers' "
            "AND f_geometry_column = 'location' AND search_frame = BuildMbr(:minx, :miny, :maxx, :maxy, 4326)"
        ).bindparams(minx=minx, miny=miny, maxx=maxx, maxy=maxy)
    )


def _distance(dialect: str, lat: float, lon: float) -> Any:
    if dialect == "postgresql":
        point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        return func.ST_DistanceSphere(Customer.location, point)
    return func.ST_Distance(Customer.location, func.MakePoint(lon, lat, 4326), 1)


async def near_customers(
    svc: Any,
    spec: EntitySpec,
    filters: list[ColumnElement[bool]],
    *,
    lat: float,
    lon: float,
    within_m: float | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    session = svc.session
    dialect = session.bind.dialect.name
    distance = _distance(dialect, lat, lon).label("distance_m")
    base = [*svc._base(spec), *filters, Customer.location.is_not(None)]
    radii = (within_m,) if within_m is not None else _RADII_M
    for radius in radii:
        cond = [*base, _index_filter(dialect, _bbox(lat, lon, radius))]
        total = await session.scalar(
            select(func.count()).select_from(Customer).where(*cond, _distance(dialect, lat, lon) <= radius)
        )
        if within_m is None and (total or 0) < offset + limit and radius != radii[-1]:
            continue
        rows = (
            await session.execute(
                select(Customer, distance)
                .where(*cond, _distance(dialect, lat, lon) <= radius)
                .order_by(distance, Customer.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        items = []
        for row, dist in rows:
            data = entity_data(spec, row)
            data["distance_m"] = round(float(dist), 1)
            items.append(data)
        return {"items": items, "limit": limit, "offset": offset, "total": int(total or 0)}
    return {"items": [], "limit": limit, "offset": offset, "total": 0}
