"""Fieldline's Python SDK: offline-first sync, sign-in and resumable uploads.

See ``docs/sdk.md`` in the Fieldline repository for the quick start.
"""

from fieldline_client.client import FieldlineClient
from fieldline_client.errors import (
    AuthExpired,
    FieldlineError,
    NetworkError,
    NotLoggedIn,
    RequestRejected,
    ServerUnavailable,
)
from fieldline_client.outbox import Mutation
from fieldline_client.storage import MemoryStorage, SqliteStorage, StorageAdapter
from fieldline_client.sync import ConflictEvent, SyncReport
from fieldline_client.transport import RetryPolicy
from fieldline_client.uploads import UploadState

__all__ = [
    "AuthExpired",
    "ConflictEvent",
    "FieldlineClient",
    "FieldlineError",
    "MemoryStorage",
    "Mutation",
    "NetworkError",
    "NotLoggedIn",
    "RequestRejected",
    "RetryPolicy",
    "ServerUnavailable",
    "SqliteStorage",
    "StorageAdapter",
    "SyncReport",
    "UploadState",
]
