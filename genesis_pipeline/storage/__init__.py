"""Where footage and artifacts live: the data dir (default) or S3, behind one interface.

Used by the store (``Store.storage``), services and runs; stages never import it (they read and
write local paths). ``open_storage`` picks the implementation from ``GENESIS_STORAGE``; boto3 is
imported only when that names S3.
"""

from __future__ import annotations

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


def open_storage(settings: Settings, home: Path) -> Storage:
    """The storage ``settings`` configure; ``home`` is the (resolved) data dir.

    Nothing is contacted here: S3 is checked on first use.
    """
    if not settings.uses_s3:
        return LocalStorage(home)
    from genesis_pipeline.storage.cache import ReadThroughCache
    from genesis_pipeline.storage.s3 import S3Storage, parse_uri

    bucket, prefix = parse_uri(settings.storage)
    return S3Storage(
        bucket,
        prefix,
        cache=ReadThroughCache(home / CACHE_DIR, settings.storage_cache_mb * 1024 * 1024),
        staging=home / STAGING_DIR,
        endpoint_url=settings.s3_endpoint_url,
        multipart_bytes=settings.s3_multipart_mb * 1024 * 1024,
        presign_ttl_s=settings.presign_ttl_s,
    )


__all__ = [
    "CACHE_DIR",
    "STAGING_DIR",
    "LocalStorage",
    "ObjectInfo",
    "PresignedUpload",
    "Storage",
    "UploadPart",
    "join_key",
    "open_storage",
]
