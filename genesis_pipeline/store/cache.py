"""The stage cache: ``cache/<stage>/<key>/`` holding a stage's serialised result.

``key = stage_key(stage, VERSION, params, inputs)`` hashes everything that decides the output, so
a hit can be trusted. An entry is complete only when its ``manifest.json`` exists (locally:
entries are built in a temporary directory and renamed into place; on S3: the manifest object
is uploaded after every other file of the entry); an entry that fails to read is deleted and
recomputed, never a crash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from genesis_pipeline.files import atomic_dir

if TYPE_CHECKING:
    from genesis_pipeline.storage import Storage

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
T = TypeVar("T")


_PLAIN = (str, int, bool, type(None))


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # exact types first: most of a fingerprint's values (words, times)
        return value
    if kind is float:
        return repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return repr(value)
    return value


def fingerprint(value: Any) -> str:
    """A stable sha256 of any JSON-like value, dataclass or Path."""
    blob = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def stage_key(stage: str, version: int, params: Any, inputs: Mapping[str, Any]) -> str:
    """The cache key of one stage run: name, code version, parameters, input fingerprints."""
    return fingerprint({"stage": stage, "version": version, "params": params, "inputs": inputs})


class StageCache:
    """Cache of stage results: folders under ``root`` (local storage), or objects under
    ``cache/`` in a remote storage read through its local cache (``storage`` given)."""

    def __init__(self, root: Path, storage: Storage | None = None, prefix: str = "cache") -> None:
        self.storage = storage
        self.prefix = prefix
        self.root = Path(root) if storage is None else storage.local_path(prefix)

    def entry(self, stage: str, key: str) -> Path:
        """The entry's local folder (with remote storage: where its copies are cached)."""
        return self.root / stage / key

    def entry_key(self, stage: str, key: str) -> str:
        """The entry's key in the storage: ``cache/<stage>/<key>``."""
        return f"{self.prefix}/{stage}/{key}"

    def lookup(self, stage: str, key: str, load: Callable[[Path], T]) -> T | None:
        """Load a complete entry with ``load(dir)``; ``None`` when absent or unreadable."""
        if self.storage is None:
            path = self.entry(stage, key)
            if not (path / MANIFEST).is_file():
                return None
        else:
            if not self.storage.exists(f"{self.entry_key(stage, key)}/{MANIFEST}"):
                return None
            path = self.storage.get_dir(self.entry_key(stage, key))
        try:
            return load(path)
        except Exception as exc:  # a corrupt entry means "recompute"
            log.warning("cache entry %s/%s unreadable (%s); recomputing", stage, key[:12], exc)
            self.delete(stage, key)
            return None

    def store(
        self, stage: str, key: str, write: Callable[[Path], Mapping[str, Any] | None]
    ) -> Path:
        """Build an entry with ``write(tmpdir)`` and publish it atomically; returns its path."""
        final = self.entry(stage, key)
        writing = (
            atomic_dir(final)
            if self.storage is None
            else self.storage.writing_dir(self.entry_key(stage, key), MANIFEST)
        )
        with writing as tmp:
            extra = write(tmp) or {}
            manifest = {"stage": stage, "key": key, "created_at": time.time(), **extra}
            (tmp / MANIFEST).write_text(json.dumps(manifest, default=str))
        return final

    def delete(self, stage: str, key: str) -> None:
        """Remove an entry (``--force``, or unreadable)."""
        if self.storage is None:
            shutil.rmtree(self.entry(stage, key), ignore_errors=True)
        else:
            self.storage.delete_prefix(self.entry_key(stage, key))

    def prune(self, max_age_days: float) -> int:
        """Delete entries not used (read or written) for ``max_age_days``; returns the count.

        Local entries only: in S3 a bucket lifecycle rule on ``cache/`` does this."""
        cutoff = time.time() - max_age_days * 86400
        removed = 0
        if not self.root.exists():
            return 0
        for stage_dir in self.root.iterdir():
            if not stage_dir.is_dir():
                continue
            for entry in stage_dir.iterdir():
                m = entry / MANIFEST
                try:
                    used = m.stat().st_atime if m.exists() else entry.stat().st_mtime
                except OSError:
                    continue
                if used < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
        return removed
