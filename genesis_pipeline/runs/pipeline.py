"""ProjectPipelineService: plan, cache look-up, run the steps, record what each did.

One run of one project at a time (a per-project lock); every step's outcome lands in
``runs.step_details`` (status, start, end, duration_s, cache_hit, counts, error). A failed step
fails the run with its error and keeps what finished; a run killed outright is marked failed by
the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis_pipeline import serde
from genesis_pipeline.errors import GenesisError, InvalidSettingError, RunInProgressError
from genesis_pipeline.files import remove_stale_temporaries
from genesis_pipeline.ml.device import plan_devices
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.executor import make_executor
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.recorder import StepRecorder
from genesis_pipeline.runs.steps import (
    captions,
    chapters,
    narration,
    proxy,
    render,
    scenes,
    transcribe,
)
from genesis_pipeline.runs.steps import media as media_check
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store.locks import is_held, lock_briefly, open_lock

log = logging.getLogger(__name__)

StepFn = Callable[[RunContext], StepOutcome]

STEPS: tuple[tuple[str, StepFn], ...] = (
    ("media", media_check.run),
    # Early: cheap when the upload's worker made the copies, and reviewers get a player soon.
    ("proxies", proxy.run),
    ("transcribe", transcribe.run),
    ("scenes", scenes.run),
    ("captions", captions.run),
    ("chapters", chapters.run),
    ("narration", narration.run),
    ("render", render.run),
)
STEP_NAMES = tuple(name for name, _ in STEPS)


@dataclass(slots=True)
class RunReport:
    """What a run did; ``serde.to_json`` of it is ``genesis process-project --json``.

    Attributes:
        error_type: the exception class of the failed step.
        render_path: the render's absolute path, when the run made or found one.
        device: the device plan with the models used (``models``).
        step_details: the run's ``step_details`` (see :mod:`genesis_pipeline.runs.recorder`).
    """

    run_id: int
    project_id: int
    status: str
    error: str | None = None
    error_type: str | None = None
    render_path: str | None = None
    device: dict[str, Any] = field(default_factory=dict)
    step_details: list[dict[str, Any]] = field(default_factory=list)


class ProjectPipelineService:
    """Runs a project's pipeline against one data dir."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @contextlib.contextmanager
    def project_lock(self, project_id: int, wait: bool = False) -> Iterator[None]:
        """Hold the per-project run lock.

        Raises:
            RunInProgressError: another process is running this project (and ``wait`` is False).
        """
        fd = open_lock(self._lock_path(project_id))
        try:
            if wait:
                fcntl.flock(fd, fcntl.LOCK_EX)
            elif not lock_briefly(fd):
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                raise RunInProgressError(
                    f"project {project_id}: already being processed ({holder}); wait for it to "
                    "finish or pass --wait"
                )
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
            yield
        finally:
            os.close(fd)

    def is_running(self, project_id: int) -> bool:
        """Whether some process holds the project's run lock right now."""
        return is_held(self._lock_path(project_id))

    def _lock_path(self, project_id: int) -> Path:
        return self.store.run_lock_path(project_id)

    def run(
        self,
        project_id: int,
        options: RunOptions | None = None,
        progress: Progress = no_progress,
        *,
        wait: bool = False,
    ) -> RunReport:
        """Run every step for ``project_id``.

        Raises:
            NotFoundError: no such project.
            RunInProgressError: the project is being processed by another run.
            InvalidSettingError: a setting or run option is unusable (before any work starts).
        """
        options = options or RunOptions()
        settings = self.store.settings
        with self.store.db.read() as con:
            projects_sql.get(con, project_id)
        with self.project_lock(project_id, wait=wait):
            self._fail_interrupted(project_id)
            # Leftovers of killed writers anywhere in the data dir (temporaries of live writers,
            # in this or another process, are recognised by their pid and kept).
            remove_stale_temporaries(self.store.home, older_than_s=6 * 3600)
            plan = plan_devices(
                settings.device,
                whisper_compute_type=settings.whisper_compute_type,
                whisper_batch_size=settings.whisper_batch_size,
                caption_batch_size=settings.caption_batch_size,
            )
            with self.store.db.write() as con:
                project = projects_sql.get(con, project_id)
                media = media_sql.list_for_project(con, project_id)
                run = runs_sql.start(
                    con,
                    project_id,
                    pid=os.getpid(),
                    host=socket.gethostname(),
                    options=serde.to_json(options),
                    device=serde.to_json(plan),
                )
            recorder = StepRecorder(self.store, run.id, progress)
            executor = make_executor(settings)
            ctx = RunContext(
                self.store, project, run.id, media, options, plan, recorder.progress, executor
            )
            executor.watch(
                lambda message: recorder.fail_current(
                    message, "ExecutorError", STEP_NAMES, ctx.models
                )
            )
            try:
                return self._run_steps(ctx, recorder)
            finally:
                executor.close()

    def _run_steps(self, ctx: RunContext, recorder: StepRecorder) -> RunReport:
        error: str | None = None
        error_type: str | None = None
        status = "succeeded"
        try:
            narration.apply_run_options(ctx)
            with self.store.db.read() as con:
                ctx.project = projects_sql.get(con, ctx.project_id)
            if not ctx.media:
                raise InvalidSettingError(
                    f"project {ctx.project_id}", "has no media; add files with `genesis add-media`"
                )
        except GenesisError as exc:
            recorder.finish_all_pending(STEP_NAMES, "not run")
            recorder.close("failed", str(exc), ctx.models)
            raise
        for i, (name, fn) in enumerate(STEPS):
            recorder.begin(name, i, len(STEPS))
            try:
                with self.store.storage.hold():  # a step's local copies stay until it ends
                    outcome = fn(ctx)
            except Exception as exc:
                is_ours = isinstance(exc, GenesisError)
                msg = str(exc) if is_ours else f"{type(exc).__name__}: {exc}"
                if not is_ours:
                    log.error("step %s crashed:\n%s", name, traceback.format_exc())
                error_type = type(exc).__name__
                recorder.end(name, StepOutcome(status="failed"), error=msg, error_type=error_type)
                recorder.finish_all_pending(STEP_NAMES[i + 1 :], "not run")
                error, status = f"{name}: {msg}", "failed"
                break
            recorder.end(name, outcome)
        recorder.close(status, error, ctx.models)
        rec = ctx.results.render
        return RunReport(
            run_id=ctx.run_id,
            project_id=ctx.project_id,
            status=status,
            step_details=recorder.details,
            error=error,
            error_type=error_type,
            render_path=self.store.location(rec.path) if rec is not None else None,
            device={**serde.to_json(ctx.plan), "models": ctx.models},
        )

    def _fail_interrupted(self, project_id: int) -> None:
        """Runs still marked running while we hold the lock died without finishing."""
        with self.store.db.read() as con:
            if not runs_sql.running(con, project_id):
                return
        with self.store.db.write() as con:
            for stale in runs_sql.running(con, project_id):
                details = [
                    {**d, "status": "failed", "error": "interrupted"}
                    if d.get("status") == "running"
                    else d
                    for d in stale.step_details
                ]
                runs_sql.update(con, stale.id, step_details=details)
                runs_sql.finish(
                    con,
                    stale.id,
                    "failed",
                    f"interrupted: process {stale.pid} on {stale.host} stopped before finishing",
                )
