"""Atomic file writes: write to a temporary name beside the target, fsync, rename.

A reader (or a row in the store) therefore only ever sees a complete file or none.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TMP_PREFIX = ".tmp-"
# Temporaries carry their writer's pid, so a later run can tell a dead writer's leftovers
# from a live writer's work in progress: ".tmp-p<pid>-...".
_PID_RE = re.compile(r"^\.tmp-p(\d+)-")


def tmp_prefix() -> str:
    """How this process's temporaries start (``.tmp-p<pid>-``): a later run removes them once
    this process is gone (:func:`remove_stale_temporaries`)."""
    return f"{TMP_PREFIX}p{os.getpid()}-"


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success it is fsynced and renamed over it.

    On any error the temporary file is removed and ``final`` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{tmp_prefix()}{uuid.uuid4().hex[:8]}-{final.name}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        fsync_dir(final.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(final: Path, data: bytes) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return final


def write_json(final: Path, obj: Any) -> Path:
    return write_bytes(final, json.dumps(obj, indent=1, default=str).encode())


def copy_file(src: Path, final: Path) -> Path:
    with atomic_path(final) as tmp:
        shutil.copyfile(src, tmp)
    return final


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``final``, renamed into place on success.

    If ``final`` already exists (another process finished first) the new one is discarded.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{tmp_prefix()}{final.name[:40]}-", dir=final.parent))
    try:
        yield tmp
        for root, _dirs, files in os.walk(tmp):
            for name in files:
                with open(Path(root) / name, "rb") as fh:
                    os.fsync(fh.fileno())
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
        fsync_dir(final.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temporaries(root: Path, older_than_s: float = 0.0) -> int:
    """Delete ``.tmp-*`` leftovers of killed writers under ``root``; returns how many.

    A temporary whose writer process is gone is removed at once; one without a known writer
    only when older than ``older_than_s`` (a live writer elsewhere may still be filling it).
    """
    import time

    n = 0
    if not root.exists():
        return 0
    cutoff = time.time() - older_than_s
    for p in root.rglob(f"{TMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            m = _PID_RE.match(p.name)
            if m and _alive(int(m.group(1))):
                continue
            if not m and older_than_s and p.stat().st_mtime > cutoff:
                continue
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
            n += 1
    return n


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
