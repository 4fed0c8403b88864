"""The composition root: the one place that lists controllers, plugins, limits and handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig

from api.accounts.admin import TeamController
from api.accounts.controllers import AuthController, MeController
from api.accounts.jwt import build_jwt_auth
from api.accounts.limits import LIMITS_STORE, build_backends, login_throttle, rate_limit_middleware
from api.db.engine import create_engine, create_session_factory
from api.db.session import Database
from api.jobs.runtime import build_worker
from api.lib.errors import document_problems, exception_to_problem
from api.lib.heap import frozen_heap
from api.media.controllers import EXPOSED_HEADERS, media_router
from api.media.runtime import build_media_runtime
from api.observability.access import REQUEST_ID_HEADER, AccessLogMiddleware
from api.observability.endpoints import health, metrics, ready
from api.observability.logging import logging_config
from api.resources.routes import resource_controllers
from api.settings import Settings, get_settings
from api.tenancy.controllers import TenantSettingsController
from geo.controllers import DailyReportController, RouteAuditController, TrackController
from sync.controllers import SyncController
from sync.hlc import HybridClock
from sync.hooks import after_merge_hooks
from sync.push import PushService


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    jwt_auth = build_jwt_auth(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        db = Database(engine=engine, sessions=create_session_factory(engine))
        clock = HybridClock()
        app.state.db = db
        app.state.clock = clock
        app.state.after_merge = after_merge_hooks(app.state)
        app.state.push_service = PushService(db.sessions, clock, after_merge=app.state.after_merge)
        app.state.media = build_media_runtime(settings)
        app.state.storage = app.state.media.storage
        services = {"media": app.state.media, "storage": app.state.storage, "clock": clock}
        app.state.worker = build_worker(db, settings, services) if settings.run_worker else None
        try:
            with frozen_heap():
                async with anyio.create_task_group() as tg:
                    if app.state.worker is not None:
                        tg.start_soon(app.state.worker.run)
                    yield
                    if app.state.worker is not None:
                        await app.state.worker.shutdown()
                    tg.cancel_scope.cancel()
        finally:
            await engine.dispose()

    limits_store, attempt_counter = build_backends(settings)
    state: dict[str, Any] = {
        "settings": settings,
        "login_throttle": login_throttle(settings, attempt_counter),
    }
    app = Litestar(
        route_handlers=[
            health,
            ready,
            metrics,
            AuthController,
            MeController,
            TeamController,
            SyncController,
            *resource_controllers(),
            TenantSettingsController,
            TrackController,
            RouteAuditController,
            DailyReportController,
            media_router(settings),
        ],
        on_app_init=[jwt_auth.on_app_init],
        lifespan=[lifespan],
        on_startup=[lambda app: document_problems(app.openapi_schema)],
        state=State(state),
        stores={LIMITS_STORE: limits_store},
        middleware=[
            *rate_limit_middleware(settings),
            PrometheusConfig(app_name="fieldline", prefix="fieldline_http", group_path=True).middleware,
        ],
        logging_config=logging_config(settings.log_level),
        exception_handlers={Exception: exception_to_problem},
        request_max_body_size=settings.max_json_body_bytes,
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            expose_headers=[
                *EXPOSED_HEADERS,
                REQUEST_ID_HEADER,
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
            ],
        )
        if settings.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="Fieldline API",
            version="1.0.0",
            description="Mobile-first REST API for field sales teams. See docs/protocol.md and docs/sync.md.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        debug=False,
    )
    # Outermost layer, around routing and authentication: every request gets an id and a log line.
    app.asgi_handler = AccessLogMiddleware(app.asgi_handler)
    return app
