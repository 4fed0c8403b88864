"""The ``fieldline`` command: serve, migrate, seed demo data, create users."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from api.settings import get_settings


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@click.group()
def main() -> None:
    """Fieldline: a mobile-first API for field sales teams."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API worker processes")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database schema first")
def serve(host: str, port: int, workers: int, no_migrate: bool) -> None:
    """Serve the API (migrating the database first)."""
    import uvicorn

    from api.db.migrate import upgrade

    settings = get_settings()
    if settings.is_production and not settings.secret_key:
        raise click.ClickException("FIELDLINE_SECRET_KEY must be set when FIELDLINE_ENV=production")
    if settings.is_sqlite and workers > 1:
        raise click.ClickException("SQLite is single-node: use PostgreSQL for --workers > 1")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if not no_migrate:
        upgrade(settings.database_url)
    click.echo(f"Fieldline on http://{host}:{port} (database: {settings.database_url.split('@')[-1]})")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


@main.command()
@click.option("--concurrency", default=None, type=int, help="jobs at once [FIELDLINE_WORKER_CONCURRENCY]")
def worker(concurrency: int | None) -> None:
    """Run the job worker (receipt OCR, photo renditions, housekeeping) until interrupted."""
    import dataclasses
    import signal

    import anyio

    from api.db.engine import create_engine, create_session_factory
    from api.db.session import Database
    from api.jobs.runtime import build_worker

    settings = get_settings()
    if concurrency is not None:
        settings = dataclasses.replace(settings, worker_concurrency=concurrency)

    async def go() -> None:
        engine = create_engine(settings.database_url)
        job_worker = build_worker(Database(engine, create_session_factory(engine)), settings)
        try:
            async with anyio.create_task_group() as tg:

                async def on_signal() -> None:
                    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                        async for _ in signals:
                            job_worker.stop()
                            tg.cancel_scope.deadline = anyio.current_time() + 30
                            return

                tg.start_soon(on_signal)
                await job_worker.run()
                tg.cancel_scope.cancel()
        finally:
            await engine.dispose()

    where = settings.database_url.split("@")[-1]
    click.echo(f"Fieldline worker ({settings.worker_concurrency} at a time) on {where}")
    _run(go())


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    from api.db.migrate import upgrade

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.option("--revision", default="-1", show_default=True)
def db_downgrade(revision: str) -> None:
    from api.db.migrate import downgrade

    downgrade(get_settings().database_url, revision)
    click.echo(f"database downgraded to {revision}")


@main.group()
def seed() -> None:
    """Demo data."""


@seed.command("demo")
def seed_demo_cmd() -> None:
    """Create the demo tenants, users, customers and route plans (idempotent)."""
    from api.db.engine import create_engine, create_session_factory, write_session
    from api.db.migrate import upgrade
    from api.seed.demo import seed_demo

    settings = get_settings()
    if settings.is_production:
        raise click.ClickException("refusing to seed demo data when FIELDLINE_ENV=production")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)

    async def go() -> list[str]:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with write_session(create_session_factory(engine)) as session:
                return await seed_demo(session)
        finally:
            await engine.dispose()

    for line in _run(go()):
        click.echo(line)


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.option("--tenant", "tenant_slug", required=True, help="tenant slug (created if missing)")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["rep", "manager", "admin"]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--timezone", default="UTC", show_default=True, help="for a new tenant")
def user_create(tenant_slug: str, email: str, name: str, role: str, password: str, timezone: str) -> None:
    """Create a user (and its tenant when new)."""
    from sqlalchemy import select

    from api.accounts.users_service import create_user
    from api.db.engine import create_engine, create_session_factory, write_session
    from api.db.migrate import upgrade
    from api.lib.errors import DomainError
    from api.lib.ids import uuid7
    from api.tenancy.models import Tenant
    from sync.clock_repository import ensure_clock

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)

    async def go() -> str:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with write_session(create_session_factory(engine)) as session:
                tenant = await session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
                if tenant is None:
                    tenant = Tenant(
                        id=uuid7(), slug=tenant_slug, name=tenant_slug, timezone=timezone, settings={}
                    )
                    session.add(tenant)
                    await session.flush()
                    await ensure_clock(session, tenant.id)
                created = await create_user(
                    session, tenant_id=tenant.id, email=email, name=name, role=role, password=password
                )
                return str(created.id)
        finally:
            await engine.dispose()

    try:
        click.echo(f"created user {_run(go())}")
    except DomainError as exc:
        click.echo(f"error: {exc.detail}", err=True)
        sys.exit(1)


@main.group("sync")
def sync_group() -> None:
    """Offline sync maintenance."""


@sync_group.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="History window in days [default: FIELDLINE_SYNC_HISTORY_DAYS, 30]",
)
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1))
def sync_prune(days: int | None, batch_size: int) -> None:
    """Prune sync history older than the window (tombstones, evictions, conflict log, push results).

    Phones whose cursor is older than what was pruned are told to bootstrap again.
    """
    from api.db.engine import create_engine, create_session_factory
    from api.lib.clock import utcnow
    from sync.history import prune_history

    settings = get_settings()
    window = days or settings.sync_history_days

    async def go() -> Any:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with create_session_factory(engine)() as session:
                return await prune_history(session, utcnow(), window, batch_size=batch_size)
        finally:
            await engine.dispose()

    report = _run(go())
    click.echo(
        f"pruned sync history before {report.cutoff.isoformat()}: {report.tombstones} tombstones, "
        f"{report.evictions} evictions, {report.conflicts} conflicts, {report.push_results} push results"
    )
    for tenant_id, version in sorted(report.purged_through.items()):
        click.echo(f"tenant {tenant_id}: purged through version {version}")


if __name__ == "__main__":
    main()
