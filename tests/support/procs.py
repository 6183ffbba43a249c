"""Running `genesis` in child processes for fault and concurrency tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from genesis_pipeline.config import Settings
from genesis_pipeline.store import Store


def genesis_cmd(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)]


def spawn(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        genesis_cmd(home, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL the process and its children (ffmpeg), as a crash or an OOM kill would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def current_step(store: Store, project_id: int) -> tuple[str | None, str | None]:
    """(step in progress, run status) of the latest run, read without blocking the writer."""
    import json

    with store.db.read() as con:
        row = con.execute(
            "SELECT progress_json, status FROM runs WHERE project_id = ? ORDER BY id DESC LIMIT 1",
            [project_id],
        ).fetchone()
    if row is None:
        return None, None
    progress: dict[str, Any] = json.loads(row[0] or "{}")
    return progress.get("step"), row[1]


def wait_for_step(
    store: Store, project_id: int, step: str, proc: subprocess.Popen, timeout_s: float = 120.0
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        name, _status = current_step(store, project_id)
        if name == step:
            return True
        time.sleep(0.02)
    return False


def store_for(home: Path, **kw: Any) -> Store:
    return Store(Settings(home=home, **kw))
