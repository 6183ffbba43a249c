"""Short-lived read caches that coalesce concurrent identical reads.

Every store read opens the DuckDB file (connections are never kept: other processes write it),
which is the dominant cost of a request. Many clients polling the same project's status or
scene list are served by one read per ``ttl_s``: the first caller loads, callers arriving
meanwhile wait for it and share the answer. Writes made through this API forget the project's
entries at once; changes made by other processes (the app, a run) show within ``ttl_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar, cast

T = TypeVar("T")

#: How stale a polled read may be (the run recorder writes progress about this often).
READ_TTL_S = 0.5
#: How long a token stays accepted without a look at the store (revocation through this API
#: takes effect at once; from the command line within this time).
TOKEN_TTL_S = 2.0
#: Past this many entries, stale ones are dropped on the next store.
MAX_ENTRIES = 256


class ReadCache:
    """Values by key for ``ttl_s``, each loaded by one caller at a time."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, float, Any]] = {}  # started, ended, value
        self._loading: dict[Hashable, threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _fresh(self, key: Hashable, asked: float) -> tuple[bool, Any]:
        """The entry, if its read started at most ``ttl_s`` before ``asked`` or was still going
        when the caller asked."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and (entry[0] >= asked - self.ttl_s or entry[1] >= asked):
            return True, entry[2]
        return False, None

    def peek(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` when a fresh entry is there, else ``(False, None)``: never loads
        nor waits for a load (an event loop may call it)."""
        return self._fresh(key, time.monotonic())

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        # Fresh relative to when this caller asked: a caller that waited for a load in flight
        # takes its answer even if that load took longer than ttl_s.
        asked = time.monotonic()
        hit, value = self._fresh(key, asked)
        if hit:
            return cast(T, value)
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            hit, value = self._fresh(key, asked)
            if hit:
                return cast(T, value)
            started = time.monotonic()
            loaded = load()
            with self._lock:
                self._entries[key] = (started, time.monotonic(), loaded)
                if len(self._entries) > MAX_ENTRIES:
                    self._prune()
            return loaded

    def _prune(self) -> None:
        """Drop stale entries and idle load gates (many distinct queries must not pile up)."""
        old = time.monotonic() - self.ttl_s
        for k in [k for k, e in self._entries.items() if e[1] < old]:
            del self._entries[k]
        for k in [k for k, g in self._loading.items() if k not in self._entries and not g.locked()]:
            del self._loading[k]

    def forget(self, match: Callable[[Hashable], bool] | None = None) -> None:
        """Drop the entries whose key ``match`` accepts (all without ``match``)."""
        with self._lock:
            for key in [k for k in self._entries if match is None or match(k)]:
                del self._entries[key]


_reads: dict[Path, ReadCache] = {}
_tokens: dict[Path, ReadCache] = {}
_registry = threading.Lock()


def reads_for(home: Path) -> ReadCache:
    """The polled-read cache of the data dir ``home`` (one per process)."""
    with _registry:
        return _reads.setdefault(home, ReadCache(READ_TTL_S))


def tokens_for(home: Path) -> ReadCache:
    """Accepted tokens of the data dir ``home``, by the hash of their secret."""
    with _registry:
        return _tokens.setdefault(home, ReadCache(TOKEN_TTL_S))
