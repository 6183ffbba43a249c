"""Launching ``genesis`` worker processes that outlive the app: a background run, a copy worker.

A worker is ``python -m genesis_pipeline.cli <command>`` in a session of its own (closing the
browser tab, or restarting the Streamlit server, does not stop it), with exactly the launching
store's settings, its output in ``logs/``. A launch marker (``locks/<name>.launch``) says who
was launched and when, so a page that polls every second does not launch a second worker while
the first is still starting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from genesis_pipeline.config import Settings
from genesis_pipeline.store import Store

_SETTING_VARS = frozenset(str(f.metadata["env"]) for f in fields(Settings))


@dataclass(frozen=True, slots=True)
class Launch:
    """A launched worker: its pid, when (``time.time()``) and where its output goes."""

    pid: int
    at: float
    log: str


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``GENESIS_*`` variables that reproduce ``settings`` in a child process."""
    env = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if value is not None:
            env[str(f.metadata["env"])] = str(value)
    return env


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie child of this process counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still "exists": reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def launch_worker(store: Store, marker: str, log_name: str, args: Sequence[str]) -> Launch:
    """Start ``genesis <args> --data-dir <home>`` detached, with the store's settings only, and
    record it in ``locks/<marker>.launch``."""
    store.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = store.logs_dir / f"{log_name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    cmd = [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(store.home)]
    # A GENESIS_* variable of the app's own environment that the settings do not carry (an
    # unset import dir, say) must not leak in.
    inherited = {k: v for k, v in os.environ.items() if k not in _SETTING_VARS}
    env = {**inherited, **settings_env(store.settings)}
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,  # survives the app's process group
            close_fds=True,
        )
    launch = Launch(proc.pid, time.time(), str(log_path))
    path = _marker_path(store, marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": launch.pid, "at": launch.at, "log": launch.log}))
    return launch


def last_launch(store: Store, marker: str) -> Launch | None:
    """The worker last launched under ``marker``, None when none was (or the marker is
    unreadable)."""
    try:
        doc = json.loads(_marker_path(store, marker).read_text())
        return Launch(int(doc["pid"]), float(doc["at"]), str(doc.get("log", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _marker_path(store: Store, marker: str) -> Path:
    return store.lock_path(f"{marker}.launch")
