"""Runs in the background: the app starts the pipeline in a worker process and polls the store.

A worker is ``python -m genesis_pipeline.cli process-project`` in its own session, so it keeps going
when the browser tab (or the Streamlit server) goes away; it writes progress to ``runs`` as it goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import RunInProgressError
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store.records import RunRecord

# A launched worker that has not taken the run lock within this long is considered dead.
_LAUNCH_GRACE_S = 90.0
_SETTING_VARS = frozenset(str(f.metadata["env"]) for f in fields(Settings))


@dataclass(frozen=True, slots=True)
class RunState:
    """What the Run page shows."""

    running: bool
    starting: bool  # launched, not yet holding the lock
    run: RunRecord | None
    log_tail: str

    @property
    def active(self) -> bool:
        """A run is going or about to (the Run page polls and disables its buttons)."""
        return self.running or self.starting

    def to_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "starting": self.starting,
            "run": self.run.to_dict() if self.run else None,
            "log_tail": self.log_tail,
        }


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``GENESIS_*`` variables that reproduce ``settings`` in a child process."""
    env = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if value is not None:
            env[str(f.metadata["env"])] = str(value)
    return env


def _launch_file(store: Store, project_id: int) -> Path:
    return store.path("locks", f"project-{int(project_id)}.launch")


def _is_locked(store: Store, project_id: int) -> bool:
    from genesis_pipeline.runs.pipeline import ProjectPipelineService

    return ProjectPipelineService(store).is_running(project_id)


def pid_alive(pid: int) -> bool:
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


def _launch_info(store: Store, project_id: int) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = json.loads(_launch_file(store, project_id).read_text())
    except (OSError, ValueError):
        return None
    return info


def start_background_run(store: Store, project_id: int, options: RunOptions | None = None) -> int:
    """Start ``process-project`` for ``project_id`` in a worker process; returns its pid.

    Raises:
        NotFoundError: no such project.
        RunInProgressError: a run of this project is already going.
    """
    options = options or RunOptions()
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    state = run_state(store, project_id)
    if state.running or state.starting:
        raise RunInProgressError(
            f"project {project_id}: a run is already in progress; wait for it to finish"
        )
    logs = store.path("logs")
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"run-project{int(project_id)}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    cmd = [
        sys.executable,
        "-m",
        "genesis_pipeline.cli",
        "process-project",
        "--project-id",
        str(int(project_id)),
        "--data-dir",
        str(store.home),
        "--json",
        "-q",
    ]
    if options.force:
        cmd.append("--force")
    if not options.render:
        cmd.append("--no-render")
    if options.voiceover is not None:
        cmd += ["--voiceover", str(options.voiceover)]
    for flag, value in (
        ("--voiceover-offset", options.voiceover_offset),
        ("--voiceover-gain", options.voiceover_gain),
        ("--bed-gain", options.bed_gain),
        ("--narration-overrun", options.narration_overrun),
    ):
        if value is not None:
            cmd += [flag, str(value)]
    # The worker gets exactly this store's settings: a GENESIS_* variable of the app's own
    # environment that the settings do not carry (an unset import dir, say) must not leak in.
    inherited = {k: v for k, v in os.environ.items() if k not in _SETTING_VARS}
    env = {**inherited, **settings_env(store.settings)}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,  # survives the app's process group
            close_fds=True,
        )
    launch = {"pid": proc.pid, "at": time.time(), "log": str(log_path)}
    path = _launch_file(store, project_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(launch))
    return proc.pid


def run_state(store: Store, project_id: int) -> RunState:
    """Whether a run is going (or just launched), the latest run row and the worker log's tail."""
    with store.db.read() as con:
        latest = runs_sql.latest(con, project_id)
    locked = _is_locked(store, project_id)
    launch = _launch_info(store, project_id)
    starting = False
    tail = ""
    if launch:
        log_path = Path(launch.get("log", ""))
        if log_path.is_file():
            tail = log_path.read_text(errors="replace")[-2000:]
        young = time.time() - float(launch.get("at", 0)) < _LAUNCH_GRACE_S
        already_recorded = (
            latest is not None and latest.started_at.timestamp() >= float(launch.get("at", 0)) - 1
        )
        alive = pid_alive(int(launch.get("pid", 0)))
        starting = not locked and young and alive and not already_recorded
    running = locked or (latest is not None and latest.status == "running" and locked)
    return RunState(running=running, starting=starting, run=latest, log_tail=tail)


def list_runs(store: Store, project_id: int, limit: int = 20) -> list[RunRecord]:
    with store.db.read() as con:
        return runs_sql.list_for_project(con, project_id, limit)


def wait_for_run(store: Store, project_id: int, timeout_s: float = 600.0) -> RunRecord | None:
    """Block until no run of the project is going (for tests and scripts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = run_state(store, project_id)
        if not state.running and not state.starting:
            return state.run
        time.sleep(0.25)
    raise TimeoutError(f"project {project_id}: run still going after {timeout_s:.0f} s")


def step_names() -> tuple[str, ...]:
    """The pipeline's steps in the order they run."""
    from genesis_pipeline.runs.pipeline import STEP_NAMES

    return STEP_NAMES


def step_checklist(run: RunRecord | None) -> list[dict[str, Any]]:
    """Every pipeline step in order with what ``run`` recorded for it.

    A step the run has not reached yet is ``pending`` (``waiting`` when the run is over and never
    recorded it). Rows carry ``step``, ``status``, ``duration_s``, ``cache_hit``, ``counts``,
    ``note`` and ``error``.
    """
    recorded = {str(d.get("step")): d for d in (run.step_details if run else [])}
    over = run is not None and run.status != "running"
    rows = []
    for name in step_names():
        d = recorded.get(name, {})
        rows.append(
            {
                "step": name,
                "status": str(d.get("status") or ("not run" if over else "pending")),
                "duration_s": d.get("duration_s"),
                "cache_hit": bool(d.get("cache_hit", False)),
                "counts": dict(d.get("counts") or {}),
                "note": d.get("note"),
                "error": d.get("error"),
            }
        )
    return rows


def run_fraction(run: RunRecord | None) -> float:
    """How far a run has got, 0..1: finished steps plus the current step's own progress."""
    if run is None:
        return 0.0
    if run.status != "running":
        return 1.0
    prog = run.progress_json or {}
    steps = int(prog.get("steps") or len(step_names()))
    index = int(prog.get("step_index") or 0)
    done, total = float(prog.get("done") or 0), float(prog.get("total") or 0)
    within = min(1.0, done / total) if total > 0 else 0.0
    return max(0.0, min(1.0, (index + within) / max(1, steps)))


def models_used(run: RunRecord | None) -> dict[str, Any]:
    """The device and models a run used, flattened from ``runs.device_json`` for display.

    Keys (``None`` when the run did not record them): ``device``, ``device_name``,
    ``cpu_threads``, ``whisper_model``, ``whisper_compute_type``, ``whisper_fallback``,
    ``whisper_note``, ``caption_model``, ``caption_dtype``, ``captions_skipped`` (the reason).
    """
    dev: dict[str, Any] = dict(run.device_json or {}) if run else {}
    models = dev.get("models") or {}
    whisper = models.get("whisper") or {}
    captions = models.get("captions") or {}
    return {
        "device": dev.get("device"),
        "device_name": dev.get("device_name"),
        "cpu_threads": dev.get("cpu_threads"),
        "whisper_model": whisper.get("identity"),
        "whisper_compute_type": whisper.get("compute_type") or dev.get("whisper_compute_type"),
        "whisper_fallback": bool(whisper.get("fallback", False)),
        "whisper_note": whisper.get("note"),
        "caption_model": captions.get("identity"),
        "caption_dtype": captions.get("dtype") or dev.get("caption_dtype"),
        "captions_skipped": captions.get("skipped"),
    }
