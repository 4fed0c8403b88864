"""Process settings, read once from ``FIELDLINE_*`` environment variables.

Every setting has a documented default so that ``fieldline serve`` works with no configuration:
an embedded SQLite + SpatiaLite database and local media storage under ``./var/``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

#: Largest sync push body, bytes (the protocol's limit).
MAX_PUSH_BYTES = 5_000_000
#: Largest ``POST /v1/tracks`` body, bytes (10 000 points with every optional field fit in 2 MB).
MAX_TRACK_BODY_BYTES = 4_000_000


def _env(name: str, default: str) -> str:
    return os.environ.get(f"FIELDLINE_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def _default_secret(var_dir: Path) -> str:
    """A development secret kept in ``var/secret_key`` so tokens survive restarts.

    Production must set ``FIELDLINE_SECRET_KEY``; ``fieldline serve`` refuses to start without it
    when ``FIELDLINE_ENV=production``.
    """
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    """All process-wide settings. Tenant-level policy lives in the tenant's settings, not here."""

    env: str = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    media_root: Path = Path("var/media")
    # Storage backend: "local" (default) or "s3".
    storage: str = "local"
    s3_bucket: str = "fieldline"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    redis_url: str | None = None
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 60 * 60 * 24 * 30
    jwt_algorithm: str = "HS256"
    # Request body limits: small for JSON, larger for the sync push, largest for media.
    max_json_body_bytes: int = 1_000_000
    max_push_bytes: int = MAX_PUSH_BYTES
    max_track_body_bytes: int = MAX_TRACK_BODY_BYTES
    max_upload_bytes: int = 40_000_000
    max_upload_pixels: int = 60_000_000
    max_push_mutations: int = 1000
    max_pull_limit: int = 1000
    sync_history_days: int = 30
    run_worker: bool = True
    worker_concurrency: int = 1
    worker_poll_interval_s: float = 1.0
    log_level: str = "INFO"
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # Media: tus part files (a volume every API process can reach), their lifetime, and the
    # Ed25519 key that signs renditions (generated into var/ in development; required in production).
    upload_dir: Path | None = None  # default: <var_dir>/uploads
    upload_expiry_s: int = 24 * 3600
    provenance_key_file: Path | None = None
    provenance_retired_keys: tuple[Path, ...] = field(default_factory=tuple)
    # Rate limits, requests per minute (0 = off): auth routes per IP (logout per user), sync per user,
    # everything else per user (per IP when anonymous). Shared through Redis when redis_url is set.
    rate_limit_per_minute: int = 600
    auth_rate_limit_per_minute: int = 60
    sync_rate_limit_per_minute: int = 300
    # Sign-in throttling: failed attempts allowed per account and per IP within the window.
    login_max_failures: int = 10
    login_max_failures_per_ip: int = 100
    login_window_s: int = 900
    #: Key prefix in Redis, so deployments can share one Redis.
    redis_prefix: str = "fieldline"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def upload_path(self) -> Path:
        return self.upload_dir or self.var_dir / "uploads"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = Path(_env("VAR_DIR", "var"))
        database_url = (
            _env("DATABASE_URL", "") or f"sqlite+aiosqlite:///{(var_dir / 'fieldline.db').as_posix()}"
        )
        database_url = normalise_database_url(database_url)
        env = _env("ENV", "development")
        secret = _env("SECRET_KEY", "")
        if not secret and env != "production":
            secret = _default_secret(var_dir)
        origins = tuple(o.strip() for o in _env("CORS_ORIGINS", "").split(",") if o.strip())
        return cls(
            env=env,
            var_dir=var_dir,
            database_url=database_url,
            secret_key=secret,
            media_root=Path(_env("MEDIA_ROOT", (var_dir / "media").as_posix())),
            storage=_env("STORAGE", "local"),
            s3_bucket=_env("S3_BUCKET", "fieldline"),
            s3_endpoint_url=_env("S3_ENDPOINT_URL", "") or None,
            s3_region=_env("S3_REGION", "us-east-1"),
            redis_url=_env("REDIS_URL", "") or None,
            access_token_ttl_s=_env_int("ACCESS_TOKEN_TTL", 900),
            refresh_token_ttl_s=_env_int("REFRESH_TOKEN_TTL", 60 * 60 * 24 * 30),
            max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", 40_000_000),
            max_upload_pixels=_env_int("MAX_UPLOAD_PIXELS", 60_000_000),
            sync_history_days=_env_int("SYNC_HISTORY_DAYS", 30),
            run_worker=_env_bool("RUN_WORKER", True),
            worker_concurrency=_env_int("WORKER_CONCURRENCY", 1),
            worker_poll_interval_s=float(_env("WORKER_POLL_INTERVAL", "1.0")),
            log_level=_env("LOG_LEVEL", "INFO"),
            cors_origins=origins,
            upload_dir=Path(upload_dir) if (upload_dir := _env("UPLOAD_DIR", "")) else None,
            upload_expiry_s=_env_int("UPLOAD_EXPIRY", 24 * 3600),
            provenance_key_file=Path(key_file) if (key_file := _env("PROVENANCE_KEY_FILE", "")) else None,
            provenance_retired_keys=tuple(
                Path(p.strip()) for p in _env("PROVENANCE_RETIRED_KEYS", "").split(",") if p.strip()
            ),
            max_json_body_bytes=_env_int("MAX_BODY_BYTES", 1_000_000),
            rate_limit_per_minute=_env_int("RATE_LIMIT", 600),
            auth_rate_limit_per_minute=_env_int("AUTH_RATE_LIMIT", 60),
            sync_rate_limit_per_minute=_env_int("SYNC_RATE_LIMIT", 300),
            login_max_failures=_env_int("LOGIN_MAX_FAILURES", 10),
            login_max_failures_per_ip=_env_int("LOGIN_MAX_FAILURES_PER_IP", 100),
            login_window_s=_env_int("LOGIN_WINDOW", 900),
            redis_prefix=_env("REDIS_PREFIX", "fieldline"),
        )


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver for each engine."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        url = "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
