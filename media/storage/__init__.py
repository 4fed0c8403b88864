"""Content-addressed storage for originals and renditions (local disk or S3-compatible)."""

from media.storage.base import (
    DEFAULT_PREFIX,
    ObjectNotFound,
    Storage,
    StorageError,
    StoredObject,
    check_key,
    content_key,
)
from media.storage.local import LocalStorage
from media.storage.s3 import S3Storage

__all__ = [
    "DEFAULT_PREFIX",
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredObject",
    "check_key",
    "content_key",
]
