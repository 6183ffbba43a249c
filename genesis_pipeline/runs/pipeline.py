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
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
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

#: Neighbouring steps that need nothing from each other run at once, each in a thread of its
#: own: the transcriber reads the audio stream and the scene detector the video stream, so on a
#: CPU host neither core idles while one of them waits on the other's serial part, and on a GPU
#: host Whisper runs on the GPU while the CPU decodes for scene detection. Only with an executor
#: that allows it (``Executor.concurrent_steps``); each step's results, cache entries and rows
#: are its own.
TOGETHER = frozenset({"transcribe", "scenes"})


def step_groups(together: frozenset[str] = TOGETHER) -> list[list[tuple[int, str, StepFn]]]:
    """:data:`STEPS` as the groups that run one after another: neighbours in ``together`` form
    one group; every other step is a group of its own. Each entry: (index, name, step)."""
    groups: list[list[tuple[int, str, StepFn]]] = []
    for i, (name, fn) in enumerate(STEPS):
        joins = groups and name in together and groups[-1][-1][1] in together
        if joins:
            groups[-1].append((i, name, fn))
        else:
            groups.append([(i, name, fn)])
    return groups


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
            # Each step reports its progress through its own recorder.progress_for (_step).
            ctx = RunContext(
                self.store, project, run.id, media, options, plan, no_progress, executor
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
        at_once = ctx.executor.concurrent_steps and self.store.settings.steps_together == "1"
        together = TOGETHER if at_once else frozenset()
        for group in step_groups(together):
            for i, name, _ in group:
                recorder.begin(name, i, len(STEPS))
            failures = [
                (name, failure)
                for name, failure in self._run_group(ctx, recorder, group)
                if failure is not None
            ]
            if failures:
                name, (msg, error_type) = failures[0]
                recorder.finish_all_pending(STEP_NAMES, "not run")
                error, status = f"{name}: {msg}", "failed"
                break
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

    def _run_group(
        self, ctx: RunContext, recorder: StepRecorder, group: list[tuple[int, str, StepFn]]
    ) -> list[tuple[str, tuple[str, str] | None]]:
        """Run a group's steps (one here, several each in a thread of its own) and wait for all;
        each step's failure (message, error type) or None."""
        if len(group) == 1:
            ((_, name, fn),) = group
            return [(name, self._step(ctx, recorder, name, fn))]
        done: dict[str, tuple[str, str] | None] = {}
        going = ctx.results.going
        going.update({name: threading.Event() for _, name, _ in group})

        def work(name: str, fn: StepFn) -> None:
            try:
                done[name] = self._step(ctx, recorder, name, fn)
            finally:
                going.pop(name).set()  # a step waiting for this one goes on

        # Daemon threads: an interrupt (Ctrl-C) ends the process without waiting for them, as
        # it ends a step running in the main thread.
        threads = [
            threading.Thread(target=work, args=(name, fn), name=f"step-{name}", daemon=True)
            for _, name, fn in group
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lost = ("the step's thread ended without a result", "RuntimeError")
        return [(name, done.get(name, lost)) for _, name, _ in group]

    def _step(
        self, ctx: RunContext, recorder: StepRecorder, name: str, fn: StepFn
    ) -> tuple[str, str] | None:
        """Run one step with its own progress callback and record its end; its failure
        (message, error type), or None."""
        try:
            with self.store.storage.hold():  # a step's local copies stay until it ends
                outcome = fn(replace(ctx, progress=recorder.progress_for(name)))
        except Exception as exc:
            is_ours = isinstance(exc, GenesisError)
            msg = str(exc) if is_ours else f"{type(exc).__name__}: {exc}"
            if not is_ours:
                log.error("step %s crashed:\n%s", name, traceback.format_exc())
            failed = StepOutcome(status="failed")
            recorder.end(name, failed, error=msg, error_type=type(exc).__name__)
            return msg, type(exc).__name__
        recorder.end(name, outcome)
        return None

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
