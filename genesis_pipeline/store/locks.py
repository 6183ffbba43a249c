"""File locks under the data dir's ``locks/``: one holder at a time, probed without waiting.

Used for what only one process may do at once (a project's run, making one playable copy, a
project's copy worker). ``flock`` locks die with their process, so a killed holder never leaves
a lock behind. The DuckDB file has its own fair readers-writer lock (:mod:`.db`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

# A prober (:func:`is_held`) holds a lock for an instant: taking one rides that out.
ATTEMPTS, RETRY_S = 10, 0.02


def lock_briefly(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` without waiting for a holder, riding out a
    momentary one; returns whether it was taken."""
    for i in range(ATTEMPTS):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if i < ATTEMPTS - 1:
                time.sleep(RETRY_S)
    return False


def open_lock(path: Path) -> int:
    """The lock file's descriptor (created when missing); the caller closes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def exclusive_or_none(path: Path) -> Iterator[int | None]:
    """Hold an exclusive lock on ``path`` (yields its fd), or yield None when another process
    holds it."""
    fd = open_lock(path)
    try:
        yield fd if lock_briefly(fd) else None
    finally:
        os.close(fd)  # releases the lock


def is_held(path: Path) -> bool:
    """Whether some process holds the lock on ``path`` now (probed without waiting)."""
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
