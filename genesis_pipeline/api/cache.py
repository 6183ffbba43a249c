"""Short-lived read caches that coalesce concurrent identical reads.

Every store read attaches the DuckDB file for its duration (it is never kept open: other
processes write it), the dominant cost of a request beside the encoding, and while a run writes
a read may wait for the run's transaction. Many clients polling the same project's status or
scene list are served by one read per ``ttl_s``: the first caller loads, callers arriving
meanwhile wait for it and share the answer. From the event loop, :meth:`ReadCache.get_nowait`
answers an entry up to ``stale_s`` old at once and refreshes it in a thread, so pollers never
queue behind a read that waits for a run. Writes made through this API forget the project's
entries at once (a read in flight then is not kept); changes made by other processes (the app, a
run) show within ``ttl_s`` plus one read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How stale a polled read may be (the run recorder writes progress about this often).
READ_TTL_S = 0.5
#: How old a polled read may still be answered while its refresh runs (past this a caller
#: waits for the store, as after an idle spell).
READ_STALE_S = 5.0
#: How long a token stays accepted without a look at the store (revocation through this API
#: takes effect at once; from the command line within this time, plus one read).
TOKEN_TTL_S = 2.0
TOKEN_STALE_S = 6.0
#: Past this many entries, stale ones are dropped on the next store.
MAX_ENTRIES = 256

# Refreshes run on a few long-lived threads: submitting never waits (starting a thread per
# refresh made the event loop wait for the new thread to be scheduled, on busy cores).
_refreshers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="genesis-read-refresh")


class ReadCache:
    """Values by key for ``ttl_s``, each loaded by one caller at a time; up to ``stale_s`` old
    for :meth:`get_nowait` while a refresh runs."""

    def __init__(self, ttl_s: float, stale_s: float | None = None) -> None:
        self.ttl_s = ttl_s
        self.stale_s = ttl_s if stale_s is None else max(stale_s, ttl_s)
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, float, Any]] = {}  # started, ended, value
        self._loading: dict[Hashable, threading.Lock] = {}
        self._generation = 0  # bumped by forget(): a load begun before is not kept

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

    def get_nowait(self, key: Hashable, load: Callable[[], T]) -> tuple[bool, T | None]:
        """``(True, value)`` at once for a fresh entry, or for one at most ``stale_s`` old whose
        refresh (``load`` in a thread) this starts unless one is running; ``(False, None)``
        when there is none: the caller loads with :meth:`get` (in a worker thread). Never
        waits for the store (an event loop may call it)."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            gate = self._loading.get(key)
        if entry is None or entry[0] < now - self.stale_s:
            return False, None
        if entry[0] < now - self.ttl_s and not (gate and gate.locked()):
            _refreshers.submit(self._refresh, key, load)
        return True, cast(T, entry[2])

    def _refresh(self, key: Hashable, load: Callable[[], Any]) -> None:
        try:
            self.get(key, load)
        except Exception as exc:  # the next caller loads and meets the error itself
            log.debug("refreshing %r failed: %s", key, exc)
            self.forget(lambda k: k == key)

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
            with self._lock:
                generation = self._generation
            started = time.monotonic()
            loaded = load()
            with self._lock:
                if generation == self._generation:  # no write was forgotten meanwhile
                    self._entries[key] = (started, time.monotonic(), loaded)
                if len(self._entries) > MAX_ENTRIES:
                    self._prune()
            return loaded

    def _prune(self) -> None:
        """Drop stale entries and idle load gates (many distinct queries must not pile up)."""
        old = time.monotonic() - self.stale_s
        for k in [k for k, e in self._entries.items() if e[1] < old]:
            del self._entries[k]
        for k in [k for k, g in self._loading.items() if k not in self._entries and not g.locked()]:
            del self._loading[k]

    def forget(self, match: Callable[[Hashable], bool] | None = None) -> None:
        """Drop the entries whose key ``match`` accepts (all without ``match``); loads in
        flight are answered to their callers but not kept."""
        with self._lock:
            self._generation += 1
            for key in [k for k in self._entries if match is None or match(k)]:
                del self._entries[key]


_reads: dict[Path, ReadCache] = {}
_tokens: dict[Path, ReadCache] = {}
_registry = threading.Lock()


def reads_for(home: Path) -> ReadCache:
    """The polled-read cache of the data dir ``home`` (one per process)."""
    with _registry:
        return _reads.setdefault(home, ReadCache(READ_TTL_S, READ_STALE_S))


def tokens_for(home: Path) -> ReadCache:
    """Accepted tokens of the data dir ``home``, by the hash of their secret."""
    with _registry:
        return _tokens.setdefault(home, ReadCache(TOKEN_TTL_S, TOKEN_STALE_S))
