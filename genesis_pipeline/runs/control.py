"""Runs in the background: the app starts the pipeline in a worker process and polls the store.

A worker is ``genesis process-project`` launched by :mod:`.launch` (its own session, so it keeps
going when the browser tab or the Streamlit server goes away); it writes progress to ``runs``
as it goes. This module starts one, tells whether one is going, and reads a run for the Run
page: its steps in order, how far it got, the device and models it used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline.errors import RunInProgressError
from genesis_pipeline.runs.launch import last_launch, launch_worker, pid_alive
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store.records import ReadModel, RunRecord

# A launched worker that has not taken the run lock within this long is considered dead.
LAUNCH_GRACE_S = 90.0


@dataclass(frozen=True, slots=True)
class RunState:
    """What the Run page shows: whether a run is going (or just launched, not yet holding the
    project's lock), the latest run and the tail of the worker's output."""

    running: bool
    starting: bool
    run: RunRecord | None
    log_tail: str

    @property
    def active(self) -> bool:
        """A run is going or about to (the Run page polls and disables its buttons)."""
        return self.running or self.starting


@dataclass(frozen=True, slots=True)
class StepRow(ReadModel):
    """One pipeline step as a run recorded it: ``status`` is ``pending`` for a step not reached
    yet (``not run`` when the run is over and never reached it)."""

    step: str
    status: str
    duration_s: float | None
    cache_hit: bool
    counts: dict[str, Any]
    note: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ModelsUsed(ReadModel):
    """The device and models a run used (None where the run did not record them).

    Attributes:
        whisper_fallback: the bundled tiny.en was used instead of the configured model.
        captions_skipped: why the captions step was skipped.
    """

    device: str | None
    device_name: str | None
    cpu_threads: int | None
    whisper_model: str | None
    whisper_compute_type: str | None
    whisper_fallback: bool
    whisper_note: str | None
    caption_model: str | None
    caption_dtype: str | None
    captions_skipped: str | None


def _marker(project_id: int) -> str:
    return f"project-{int(project_id)}"


def _is_locked(store: Store, project_id: int) -> bool:
    from genesis_pipeline.runs.pipeline import ProjectPipelineService

    return ProjectPipelineService(store).is_running(project_id)


def start_background_run(
    store: Store, project_id: int, options: RunOptions | None = None, *, actor: Actor
) -> int:
    """Start ``process-project`` for ``project_id`` in a worker process; returns its pid.

    Raises:
        NotFoundError: no such project.
        RunInProgressError: a run of this project is already going.
        PermissionDeniedError: the actor may not start runs.
    """
    access.require(actor, "review", "runs.start")
    options = options or RunOptions()
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    if run_state(store, project_id).active:
        raise RunInProgressError(
            f"project {project_id}: a run is already in progress; wait for it to finish"
        )
    args = ["process-project", "--project-id", str(int(project_id)), "--json", "-q"]
    if options.force:
        args.append("--force")
    if not options.render:
        args.append("--no-render")
    if options.voiceover is not None:
        args += ["--voiceover", str(options.voiceover)]
    for flag, value in (
        ("--voiceover-offset", options.voiceover_offset),
        ("--voiceover-gain", options.voiceover_gain),
        ("--bed-gain", options.bed_gain),
        ("--narration-overrun", options.narration_overrun),
        ("--render-mode", options.render_mode),
        ("--subtitles", options.subtitles),
    ):
        if value is not None:
            args += [flag, str(value)]
    # Below the app and the API, which answer people meanwhile.
    nice = ["--nice", str(store.settings.run_nice)] if store.settings.run_nice else []
    launch = launch_worker(
        store, _marker(project_id), f"run-project{int(project_id)}", [*args, *nice]
    )
    with store.db.write() as con:
        access.permit(
            con, actor, "review", "runs.start", project_id,
            {"options": args[5:], "pid": launch.pid},
        )  # fmt: skip
    return launch.pid


def run_state(store: Store, project_id: int) -> RunState:
    """Whether a run is going (or just launched), the latest run row and the worker log's tail."""
    with store.db.read() as con:
        latest = runs_sql.latest(con, project_id)
    locked = _is_locked(store, project_id)
    launch = last_launch(store, _marker(project_id))
    starting = False
    tail = ""
    if launch:
        log_path = Path(launch.log)
        if launch.log and log_path.is_file():
            tail = log_path.read_text(errors="replace")[-2000:]
        young = time.time() - launch.at < LAUNCH_GRACE_S
        already_recorded = latest is not None and latest.started_at.timestamp() >= launch.at - 1
        starting = not locked and young and pid_alive(launch.pid) and not already_recorded
    return RunState(running=locked, starting=starting, run=latest, log_tail=tail)


def list_runs(store: Store, project_id: int, limit: int = 20) -> list[RunRecord]:
    """The project's latest runs, newest first."""
    with store.db.read() as con:
        return runs_sql.list_for_project(con, project_id, limit)


def wait_for_run(store: Store, project_id: int, timeout_s: float = 600.0) -> RunRecord | None:
    """Block until no run of the project is going (for tests and scripts).

    Raises:
        TimeoutError: a run is still going after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = run_state(store, project_id)
        if not state.active:
            return state.run
        time.sleep(0.25)
    raise TimeoutError(f"project {project_id}: run still going after {timeout_s:.0f} s")


def step_names() -> tuple[str, ...]:
    """The pipeline's steps in the order they run."""
    from genesis_pipeline.runs.pipeline import STEP_NAMES

    return STEP_NAMES


def step_checklist(run: RunRecord | None) -> list[StepRow]:
    """Every pipeline step in order with what ``run`` recorded for it."""
    recorded = {str(d.get("step")): d for d in (run.step_details if run else [])}
    over = run is not None and run.status != "running"
    rows = []
    for name in step_names():
        d = recorded.get(name, {})
        rows.append(
            StepRow(
                step=name,
                status=str(d.get("status") or ("not run" if over else "pending")),
                duration_s=d.get("duration_s"),
                cache_hit=bool(d.get("cache_hit", False)),
                counts=dict(d.get("counts") or {}),
                note=d.get("note"),
                error=d.get("error"),
            )
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
    span = int(prog.get("span") or 1)  # steps running together
    done, total = float(prog.get("done") or 0), float(prog.get("total") or 0)
    within = min(1.0, done / total) if total > 0 else 0.0
    return max(0.0, min(1.0, (index + within * span) / max(1, steps)))


def models_used(run: RunRecord | None) -> ModelsUsed:
    """The device and models a run used, from ``runs.device_json``, for display."""
    dev: dict[str, Any] = dict(run.device_json or {}) if run else {}
    models = dev.get("models") or {}
    whisper = models.get("whisper") or {}
    captions = models.get("captions") or {}
    return ModelsUsed(
        device=dev.get("device"),
        device_name=dev.get("device_name"),
        cpu_threads=dev.get("cpu_threads"),
        whisper_model=whisper.get("identity"),
        whisper_compute_type=whisper.get("compute_type") or dev.get("whisper_compute_type"),
        whisper_fallback=bool(whisper.get("fallback", False)),
        whisper_note=whisper.get("note"),
        caption_model=captions.get("identity"),
        caption_dtype=captions.get("dtype") or dev.get("caption_dtype"),
        captions_skipped=captions.get("skipped"),
    )
