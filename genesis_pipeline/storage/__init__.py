"""Where footage and artifacts live: the data dir (default) or S3, behind one interface.

Used by the store (``Store.storage``), services and runs; stages never import it (they read and
write local paths). ``open_storage`` picks the implementation from ``GENESIS_STORAGE``; boto3 is
imported only when that names S3.

A worker (a Ray task or actor, possibly on another machine) gets a :class:`StorageAccess` with
each call, the storage settings it needs and nothing else, and opens the storage itself with
:func:`storage_for`: with S3, its own read-through cache on its own disk and its own boto3
client (credentials from the worker's own AWS chain: none travel with a call).
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline.config import Settings
from genesis_pipeline.storage.base import (
    ObjectInfo,
    PresignedUpload,
    Storage,
    UploadPart,
    join_key,
)
from genesis_pipeline.storage.local import LocalStorage

#: Folders under the data dir that S3 storage uses on the app host: the read-through cache and
#: the staging area where outputs are written before they are uploaded.
CACHE_DIR = "storage-cache"
STAGING_DIR = "storage-staging"


@dataclass(frozen=True, slots=True)
class StorageAccess:
    """The storage settings a worker needs to read inputs and publish outputs itself, sent with
    every call (a worker never reads the host's environment or Settings).

    Attributes:
        root: the data dir (local storage: workers share the host's disk) or
            ``s3://bucket/prefix``.
        endpoint_url: ``GENESIS_S3_ENDPOINT_URL`` (empty: AWS).
        cache_mb: the size limit of the worker's read-through cache
            (``GENESIS_STORAGE_CACHE_MB``).
        multipart_mb: ``GENESIS_S3_MULTIPART_MB``.
        host: the app host's data dir, naming the host's own storage: a call that runs in the
            host's process (the local executor) reads through the host's cache.
    """

    root: str
    endpoint_url: str = ""
    cache_mb: int = 20480
    multipart_mb: int = 64
    presign_ttl_s: int = 3600
    host: str = ""

    @property
    def remote(self) -> bool:
        return self.root.startswith("s3://")


def access_for(settings: Settings, home: Path) -> StorageAccess:
    """What a worker needs of ``settings`` to use the storage (``home``: the data dir)."""
    return StorageAccess(
        root=settings.storage if settings.uses_s3 else str(home),
        endpoint_url=settings.s3_endpoint_url if settings.uses_s3 else "",
        cache_mb=settings.storage_cache_mb,
        multipart_mb=settings.s3_multipart_mb,
        presign_ttl_s=settings.presign_ttl_s,
        host=str(home),
    )


# The storages opened in this process, by access: the app host's (opened by its Store) and, in
# a worker process, the worker's own.
_opened: dict[StorageAccess, Storage] = {}
_opened_lock = threading.Lock()


def worker_dir() -> Path:
    """Where a worker keeps its read-through cache and staging area: its own temporary folder
    (``TMPDIR``), per user."""
    return Path(tempfile.gettempdir()) / f"genesis-worker-{os.getuid()}"


def open_storage(settings: Settings, home: Path) -> Storage:
    """The storage ``settings`` configure; ``home`` is the (resolved) data dir. Calls made in
    this process with the same settings (:func:`storage_for`) read through it.

    Nothing is contacted here: S3 is checked on first use.
    """
    access = access_for(settings, home)
    if not settings.uses_s3:
        storage: Storage = LocalStorage(home)
    else:
        storage = _open_s3(access, home / CACHE_DIR, home / STAGING_DIR, namespace="")
    with _opened_lock:
        _opened[access] = storage
    return storage


def storage_for(access: StorageAccess) -> Storage:
    """The storage a call's ``access`` names, as this process sees it: the host's own (when the
    call runs in the app host's process), else one opened here once, with S3 through a
    read-through cache in :func:`worker_dir` of at most ``access.cache_mb``."""
    with _opened_lock:
        found = _opened.get(access)
        if found is None:
            if not access.remote:
                found = LocalStorage(Path(access.root))
            else:
                here = worker_dir()
                bucket_prefix = access.root[len("s3://") :].strip("/")
                # Cached under "s3:<bucket>/<prefix>/<key>": a worker serves many hosts.
                found = _open_s3(
                    access, here / CACHE_DIR, here / STAGING_DIR, namespace=f"s3:{bucket_prefix}"
                )
            _opened[access] = found
        return found


def _open_s3(access: StorageAccess, cache: Path, staging: Path, *, namespace: str) -> Storage:
    from genesis_pipeline.storage.cache import ReadThroughCache
    from genesis_pipeline.storage.s3 import S3Storage, parse_uri

    bucket, prefix = parse_uri(access.root)
    return S3Storage(
        bucket,
        prefix,
        cache=ReadThroughCache(cache, access.cache_mb * 1024 * 1024),
        staging=staging,
        endpoint_url=access.endpoint_url,
        multipart_bytes=access.multipart_mb * 1024 * 1024,
        presign_ttl_s=access.presign_ttl_s,
        cache_namespace=namespace,
    )


__all__ = [
    "CACHE_DIR",
    "STAGING_DIR",
    "LocalStorage",
    "ObjectInfo",
    "PresignedUpload",
    "Storage",
    "StorageAccess",
    "UploadPart",
    "access_for",
    "join_key",
    "open_storage",
    "storage_for",
    "worker_dir",
]
