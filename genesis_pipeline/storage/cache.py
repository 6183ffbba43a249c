"""The read-through cache: local copies of remote objects, least recently used out first.

``objects/<key>`` holds an object's bytes and ``tags/<key>`` the version (ETag) they are of,
written after the bytes and removed before they are replaced, so a copy counts only for the
version it is. The cache keeps under ``max_bytes`` by evicting what was used longest ago, except
copies in use: those handed out inside :meth:`ReadThroughCache.hold` (a pipeline step's inputs)
and those used in the last ``grace_s`` seconds (a reader between ``get_path`` and ``open``). A
reader that already opened a file keeps reading it after an eviction (POSIX unlink).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from genesis_pipeline.files import TMP_PREFIX, atomic_path

log = logging.getLogger(__name__)


class ReadThroughCache:
    """Local copies of objects by key, with a size limit."""

    def __init__(self, root: Path, max_bytes: int, grace_s: float = 60.0) -> None:
        self.root = Path(root).resolve()
        self.objects = self.root / "objects"
        self.tags = self.root / "tags"
        self.max_bytes = int(max_bytes)
        self.grace_s = grace_s
        self._lock = threading.RLock()
        self._total: int | None = None  # bytes in the cache, counted on first use
        self._holds = 0
        self._held: set[str] = set()

    # -- where ---------------------------------------------------------------------------------
    def path(self, key: str) -> Path:
        return self.objects / key

    def key_of(self, path: Path) -> str | None:
        try:
            return Path(path).resolve().relative_to(self.objects).as_posix()
        except ValueError:
            return None

    # -- look-up -------------------------------------------------------------------------------
    def lookup(self, key: str, etag: str) -> Path | None:
        """The local copy of ``key`` at version ``etag``, or None (absent or another version)."""
        p = self.path(key)
        try:
            if (self.tags / key).read_text() != etag or not p.is_file():
                return None
        except OSError:
            return None
        self._touch(key, p)
        return p

    # -- filling -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def filling(self, key: str, etag: str) -> Iterator[Path]:
        """Yield a temporary path to write ``key``'s bytes to; on success they become the
        cached copy at version ``etag``."""
        p = self.path(key)
        self._forget_tag(key)
        with atomic_path(p) as tmp:
            yield tmp
        self._commit(key, p, etag)

    def adopt(self, src: Path, key: str, etag: str, *, move: bool) -> Path:
        """Make a local file the cached copy of ``key`` at ``etag`` (a file just uploaded), so
        it is not downloaded again; ``move`` consumes ``src``, else it is hard-linked or copied."""
        p = self.path(key)
        if Path(src).resolve() == p.resolve():
            self._commit(key, p, etag)
            return p
        self._forget_tag(key)
        with atomic_path(p) as tmp:
            try:
                if move:
                    os.replace(src, tmp)
                else:
                    os.link(src, tmp)
            except OSError:  # another filesystem
                shutil.copyfile(src, tmp)
        self._commit(key, p, etag)
        return p

    def discard(self, key: str) -> None:
        """Drop ``key``'s copy (the object was deleted)."""
        self._forget_tag(key)
        p = self.path(key)
        with contextlib.suppress(OSError):
            size = p.stat().st_size
            p.unlink()
            with self._lock:
                if self._total is not None:
                    self._total -= size

    # -- holding -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep every copy handed out inside the block until it ends, then evict as needed."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                if self._holds == 0:
                    self._held.clear()
            self.evict()

    # -- the limit -----------------------------------------------------------------------------
    def size(self) -> int:
        """Bytes in the cache now (counted on disk)."""
        return sum(size for _key, size, _used in self._entries())

    def evict(self) -> int:
        """Remove least recently used copies until the cache is under its limit (copies in use
        stay); returns how many were removed."""
        with self._lock:
            if self._total is not None and self._total <= self.max_bytes:
                return 0
            entries = self._entries()
            total = sum(size for _key, size, _used in entries)
            removed = 0
            now = time.time()
            for key, size, used in sorted(entries, key=lambda e: e[2]):
                if total <= self.max_bytes:
                    break
                if key in self._held or now - used < self.grace_s:
                    continue
                self._forget_tag(key)
                with contextlib.suppress(OSError):
                    self.path(key).unlink()
                    total -= size
                    removed += 1
            self._total = total
        if removed:
            log.info("read-through cache: evicted %d copies (now %.0f MB)", removed, total / 1e6)
        return removed

    # -- internals -----------------------------------------------------------------------------
    def _commit(self, key: str, p: Path, etag: str) -> None:
        tag = self.tags / key
        tag.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(tag) as tmp:
            tmp.write_text(etag)
        size = p.stat().st_size
        with self._lock:
            if self._total is None:
                self._total = self.size()
            else:
                self._total += size
            if self._holds:
                # Everything a step fetched stays until it ends: evict when the hold is released.
                self._held.add(key)
                return
        self.evict()

    def _touch(self, key: str, p: Path) -> None:
        with contextlib.suppress(OSError):
            os.utime(p)  # mtime is the last use: atime is unreliable (noatime, relatime)
        with self._lock:
            if self._holds:
                self._held.add(key)

    def _forget_tag(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.tags / key).unlink()

    def _entries(self) -> list[tuple[str, int, float]]:
        """(key, size, last use) of every copy on disk."""
        out: list[tuple[str, int, float]] = []
        if not self.objects.is_dir():
            return out
        for dirpath, dirs, files in os.walk(self.objects):
            dirs[:] = [d for d in dirs if not d.startswith(TMP_PREFIX)]
            for name in files:
                if name.startswith(TMP_PREFIX):
                    continue
                p = Path(dirpath) / name
                with contextlib.suppress(OSError):
                    st = p.stat()
                    out.append((p.relative_to(self.objects).as_posix(), st.st_size, st.st_mtime))
        return out
