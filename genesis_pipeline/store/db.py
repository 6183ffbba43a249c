"""DuckDB access: short-lived attachments, a file lock, retries, numbered migrations.

DuckDB lets one process write at a time, and while a process holds the file open for writing no
other process can open it at all. The app, the CLI and background runs share one data dir, so:

* the file is held open only for one unit of work (one read, one write transaction) - never
  longer;
* readers take a shared ``flock`` and writers an exclusive one on ``genesis.duckdb.lock``, so
  Genesis processes queue instead of colliding (flock is per open file, so threads queue too);
* an open that still fails (a foreign process holds the file) is retried with backoff and only
  after ``timeout_s`` becomes :class:`StoreBusyError`.

Opening is cheap: each process keeps one in-memory DuckDB *engine* and ``ATTACH``es the file to
it for a unit of work, ``DETACH``ing it after. A fresh ``duckdb.connect`` builds a whole database
instance (its catalog of built-in functions) every time, 30-40 ms of CPU here; an attach of the
same file costs 2 ms for reading and 10 ms for a write (the checkpoint at detach included).
Threads reading at once share one read-only attachment (counted; the last one out detaches it);
a writer holds the exclusive lock, so it is always alone with its read-write attachment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import random
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_pipeline.errors import StoreBusyError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class _Engine:
    """This process's in-memory DuckDB instance and the store files attached to it.

    Files are attached under an alias derived from their path; an attachment lives while some
    unit of work in this process uses it. A forked child makes its own engine (a DuckDB
    instance's threads do not survive ``fork``).
    """

    def __init__(self) -> None:
        import duckdb

        self.pid = os.getpid()
        self.base = duckdb.connect(":memory:")
        self.lock = threading.Lock()  # the base connection and the table below
        self.users: dict[str, int] = {}  # alias -> units of work using it
        self.gates: dict[str, threading.Lock] = {}  # alias -> serialises attach/detach

    def gate(self, alias: str) -> threading.Lock:
        with self.lock:
            return self.gates.setdefault(alias, threading.Lock())

    def cursor(self) -> Connection:
        with self.lock:
            return self.base.cursor()


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _the_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None or _engine.pid != os.getpid():
            _engine = _Engine()  # an inherited engine is left alone, never closed
        return _engine


def _migrations() -> list[tuple[int, str, str]]:
    files = resources.files("genesis_pipeline.store") / "migrations"
    out = []
    for entry in files.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            out.append((int(name[:3]), name, entry.read_text()))
    return sorted(out)


class Database:
    """The Genesis DuckDB file. Cheap to construct; holds no connection."""

    def __init__(self, path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.gate_path = self.path.with_name(self.path.name + ".gate")
        self.timeout_s = timeout_s

    # -- locking -------------------------------------------------------------------------------
    def _acquire(self, fd: int, mode: int, deadline: float) -> None:
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreBusyError(
                        f"{self.path}: still locked by another Genesis process after "
                        f"{self.timeout_s:.0f} s"
                    ) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.05)

    @contextlib.contextmanager
    def _flock(self, exclusive: bool) -> Iterator[None]:
        """Fair readers-writer lock from two flocks.

        Everyone passes a turnstile (taken exclusively, held only while acquiring the main lock),
        so a waiting writer holds the turnstile and new readers queue behind it instead of
        starving it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout_s
        gate = os.open(self.gate_path, os.O_RDWR | os.O_CREAT, 0o644)
        fd = -1
        try:
            self._acquire(gate, fcntl.LOCK_EX, deadline)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            self._acquire(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline)
            os.close(gate)  # releases the turnstile
            gate = -1
            yield
        finally:
            if gate >= 0:
                os.close(gate)
            if fd >= 0:
                os.close(fd)  # releases the main lock

    @property
    def alias(self) -> str:
        """The name this file is attached under in the process's engine."""
        return "genesis_" + hashlib.sha1(str(self.path.resolve()).encode()).hexdigest()[:16]

    @property
    def in_use(self) -> int:
        """How many units of work in this process hold the file attached now (0: not open)."""
        return _the_engine().users.get(self.alias, 0)

    def _attach(self, engine: _Engine, read_only: bool) -> None:
        """Attach the file to ``engine``, waiting for a program outside Genesis' lock."""
        import duckdb

        mode = "READ_ONLY" if read_only else "READ_WRITE"
        deadline = time.monotonic() + self.timeout_s
        delay = 0.01
        while True:
            cur = engine.cursor()
            try:
                # A detach that failed (a checkpoint on a full disk) must not wedge the process.
                cur.execute(f'DETACH DATABASE IF EXISTS "{self.alias}"')
                cur.execute(f'ATTACH ? AS "{self.alias}" ({mode})', [str(self.path)])
                return
            except duckdb.IOException as exc:
                # A process outside Genesis' lock (a notebook's long-lived connection, the
                # duckdb CLI) holds the file: wait for it, then give up with a clear message.
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    if "lock" in str(exc).lower():
                        raise StoreBusyError(
                            f"{self.path}: held open by another program for {self.timeout_s:.0f} s "
                            f"({str(exc).split(':', 1)[-1].strip()[:160]})"
                        ) from None
                    raise
            finally:
                cur.close()
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)

    def _detach(self, engine: _Engine) -> None:
        cur = engine.cursor()
        try:
            cur.execute(f'DETACH "{self.alias}"')
        finally:
            cur.close()

    @contextlib.contextmanager
    def _open(self, read_only: bool) -> Iterator[Connection]:
        """A connection whose default database is this file, for one unit of work. Call with
        the file lock held: shared for reading, exclusive for writing."""
        engine = _the_engine()
        alias = self.alias
        with engine.gate(alias):
            if engine.users.get(alias, 0) == 0:
                self._attach(engine, read_only)
            engine.users[alias] = engine.users.get(alias, 0) + 1
        try:
            con = engine.cursor()
            try:
                con.execute(f'USE "{alias}"')
                yield con
            finally:
                con.close()
        finally:
            with engine.gate(alias):
                engine.users[alias] -= 1
                if engine.users[alias] == 0:
                    self._detach(engine)

    # -- public --------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create the file and apply pending migrations (once per process per file).

        An up-to-date file is checked under the shared lock, read-only: a process starting
        while a run writes waits for one transaction at most, as any reader does, and never
        queues as a writer. Only a missing file or a pending migration takes the exclusive
        lock (and is checked again under it: another process may have migrated meanwhile).
        """
        key = str(self.path.resolve())
        if key in _migrated:
            return
        with _migrate_lock:
            if key in _migrated:
                return
            if self.path.exists():
                with self._flock(exclusive=False), self._open(read_only=True) as con:
                    current = _schema_is_current(con)
            else:
                current = False
            if not current:
                with self._flock(exclusive=True), self._open(read_only=False) as con:
                    _apply_migrations(con)
            _migrated.add(key)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection for one unit of reading."""
        self.ensure_schema()
        with self._flock(exclusive=False), self._open(read_only=True) as con:
            yield con

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        self.ensure_schema()
        with self._flock(exclusive=True), self._open(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")


def _schema_is_current(con: Connection) -> bool:
    """Whether every migration this code knows is recorded in the file."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_catalog = current_database() AND table_name = 'schema_version'"
    ).fetchone()
    if not found or not found[0]:
        return False
    done = _versions_applied(con)
    return all(version in done for version, _, _ in _migrations())


def _versions_applied(con: Connection) -> set[int]:
    return {int(r[0]) for r in con.execute("SELECT version FROM schema_version").fetchall()}


def _apply_migrations(con: Connection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR,"
        " applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    done = _versions_applied(con)
    for version, name, sql in _migrations():
        if version in done:
            continue
        log.info("applying migration %s", name)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
