"""Where a worker turns an input locator into a local file and publishes its outputs: the one
seam between the executor and storage.

A locator is what the host hands a worker for an input (a media file, a preview, a voiceover):
a path (local storage and host-folder imports: a disk the worker shares with the host) or an
``s3://bucket/key`` URI. The worker opens the storage itself from the call's
:class:`~genesis_pipeline.storage.StorageAccess` (:func:`~genesis_pipeline.storage.storage_for`)
and fetches S3 objects through its own size-limited read-through cache, on its own disk; in the
app host's process (the local executor) that is the host's storage and cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.storage import Storage, StorageAccess, storage_for

#: Turns a locator into a local file holding its bytes.
Fetch = Callable[[str], Path]


def local_input(locator: str, storage: Storage) -> Path:
    """A local path holding the input ``locator`` names: the path itself, or the copy of an
    ``s3://`` object in ``storage``'s read-through cache (fetched when missing or stale).

    Raises:
        ObjectMissingError: the object is gone (names it).
        InvalidSettingError: an ``s3://`` locator with local storage.
    """
    if not locator.startswith("s3://"):
        return Path(locator)
    from genesis_pipeline.storage.s3 import S3Storage

    if not isinstance(storage, S3Storage):
        raise InvalidSettingError(
            "GENESIS_STORAGE", f"{locator} is in S3 but the storage is local; set s3://bucket/…"
        )
    owner, key = storage.resolve(locator)
    return owner.get_path(key)


@contextlib.contextmanager
def reading(access: StorageAccess) -> Iterator[Fetch]:
    """Yield a :data:`Fetch` for a call's inputs; the copies it hands out stay in the cache
    until the block ends."""
    storage = storage_for(access)
    with storage.hold():
        yield lambda locator: local_input(locator, storage)
