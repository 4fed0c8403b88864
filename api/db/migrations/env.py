"""Alembic environment: async engine from settings, GeoAlchemy2 helpers for spatial columns."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from alembic.autogenerate import rewriter
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection

from api.db.engine import create_engine
from api.db.registry import metadata
from api.settings import get_settings

config = context.config
writer = rewriter.Rewriter().chain(alembic_helpers.writer)


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if (
        type_ == "table"
        and name
        and (
            name.startswith(("idx_", "spatial", "sql_", "virts_", "views_"))
            or name
            in {
                "spatial_ref_sys",
                "geometry_columns",
                "KNN",
                "KNN2",
                "ElementaryGeometries",
                "SpatialIndex",
                "data_licenses",
                "spatialite_history",
                "topology",
                "layer",
            }
            or name.endswith(("_auth", "_statistics", "_field_infos"))
        )
    ):
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=_include_object,
        render_item=alembic_helpers.render_item,
        process_revision_directives=writer,
        compare_type=True,
        user_module_prefix="fl_types.",
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.attributes.get("database_url") or get_settings().database_url
    engine = create_engine(url, null_pool=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `fieldline db upgrade`")
run_migrations_online()
