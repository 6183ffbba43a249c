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
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from genesis_pipeline import serde
from genesis_pipeline.errors import GenesisError, InvalidSettingError, RunInProgressError
from genesis_pipeline.files import remove_stale_temporaries
from genesis_pipeline.ml.device import plan_devices
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.steps import (
    captions,
    chapters,
    narration,
    proxy,
    render,
    scenes,
    transcribe,
)
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import runs as runs_sql

log = logging.getLogger(__name__)

StepFn = Callable[[RunContext], StepOutcome]

STEPS: tuple[tuple[str, StepFn], ...] = (
    ("media", lambda ctx: _check_media(ctx)),
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

# Progress rows are written at most this often (each is a short write transaction).
_PROGRESS_INTERVAL_S = 0.5


@dataclass(slots=True)
class RunReport:
    run_id: int
    project_id: int
    status: str
    step_details: list[dict[str, Any]]
    error: str | None = None
    error_type: str | None = None  # the exception class of the failed step
    render_path: str | None = None
    device: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "project_id": self.project_id,
            "status": self.status,
            "error": self.error,
            "error_type": self.error_type,
            "render_path": self.render_path,
            "device": self.device,
            "step_details": self.step_details,
        }


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
        path = self.store.path("locks", f"project-{int(project_id)}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                if wait:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                else:
                    _flock_briefly(fd)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                raise RunInProgressError(
                    f"project {project_id}: already being processed ({holder}); wait for it to "
                    "finish or pass --wait"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
            yield
        finally:
            os.close(fd)

    def is_running(self, project_id: int) -> bool:
        """Whether some process holds the project's run lock right now."""
        path = self.store.path("locks", f"project-{int(project_id)}.lock")
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

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
                    options=options.to_dict(),
                    device=serde.to_json(plan),
                )
            recorder = _Recorder(self.store, run.id, progress)
            ctx = RunContext(self.store, project, run.id, media, options, plan, recorder.progress)
            return self._run_steps(ctx, recorder)

    def _run_steps(self, ctx: RunContext, recorder: _Recorder) -> RunReport:
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
        rec = ctx.state.get("render")
        return RunReport(
            run_id=ctx.run_id,
            project_id=ctx.project_id,
            status=status,
            step_details=recorder.details,
            error=error,
            error_type=error_type,
            render_path=str(self.store.absolute(rec.path)) if rec is not None else None,
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


def _flock_briefly(fd: int, attempts: int = 10) -> None:
    """Take the lock without waiting for a run, but ride out a momentary holder: ``is_running``
    probes by taking the lock for an instant.

    Raises:
        BlockingIOError: still held after the attempts (a run holds it).
    """
    for i in range(attempts):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if i == attempts - 1:
                raise
            time.sleep(0.02)


def _check_media(ctx: RunContext) -> StepOutcome:
    """Every media file is still where the store says, with the size it had."""
    from genesis_pipeline.errors import InvalidMediaError

    total = 0.0
    for m in ctx.media:
        p = ctx.media_path(m)
        if not p.is_file():
            raise InvalidMediaError(m.original_name, f"media file is missing at {p}")
        if p.stat().st_size != m.size_bytes:
            raise InvalidMediaError(
                m.original_name, f"changed on disk since it was added ({p}); add it again"
            )
        total += m.duration_s
    return StepOutcome(
        counts={
            "media": len(ctx.media),
            "video": sum(m.has_video for m in ctx.media),
            "audio_only": sum(not m.has_video for m in ctx.media),
            "duration_s": round(total, 3),
        }
    )


class _Recorder:
    """Keeps ``runs.step_details`` and ``runs.progress_json`` current."""

    def __init__(self, store: Store, run_id: int, progress: Progress) -> None:
        self.store = store
        self.run_id = run_id
        self.user_progress = progress
        self.details: list[dict[str, Any]] = []
        self._t0: dict[str, float] = {}
        self._step = ("", 0, 0)
        self._last_write = 0.0

    def _write(self, progress: dict[str, Any] | None = None) -> None:
        with self.store.db.write() as con:
            runs_sql.update(con, self.run_id, step_details=self.details, progress=progress)

    def begin(self, name: str, index: int, total: int) -> None:
        self._t0[name] = time.monotonic()
        self._step = (name, index, total)
        self.details.append(
            {
                "step": name,
                "status": "running",
                "started_at": datetime.now().isoformat(),
                "cache_hit": False,
            }
        )
        self._write(
            {
                "step": name,
                "step_index": index,
                "steps": total,
                "done": 0,
                "total": 0,
                "note": "",
                "updated_at": time.time(),
            }
        )
        self.user_progress(0, 0, name)

    def progress(self, done: int, total: int, note: str) -> None:
        self.user_progress(done, total, note)
        now = time.monotonic()
        if now - self._last_write < _PROGRESS_INTERVAL_S and done < total:
            return
        self._last_write = now
        name, index, steps = self._step
        with self.store.db.write() as con:
            runs_sql.update(
                con,
                self.run_id,
                progress={
                    "step": name,
                    "step_index": index,
                    "steps": steps,
                    "done": done,
                    "total": total,
                    "note": note,
                    "updated_at": time.time(),
                },
            )

    def end(
        self,
        name: str,
        outcome: StepOutcome,
        error: str | None = None,
        error_type: str | None = None,
    ) -> None:
        d = self.details[-1]
        d.update(
            status=outcome.status if error is None else "failed",
            ended_at=datetime.now().isoformat(),
            duration_s=round(time.monotonic() - self._t0[name], 3),
            cache_hit=outcome.cache_hit,
            counts=outcome.counts,
            error=error,
        )
        if error_type:
            d["error_type"] = error_type
        if outcome.note:
            d["note"] = outcome.note
        d.update({k: v for k, v in outcome.details.items() if k not in d})
        # Written with the next step's begin (or close): one short transaction per step.

    def finish_all_pending(self, names: tuple[str, ...], status: str) -> None:
        seen = {d["step"] for d in self.details}
        for name in names:
            if name not in seen:
                self.details.append(
                    {"step": name, "status": status, "cache_hit": False, "duration_s": 0.0}
                )

    def close(self, status: str, error: str | None, models: dict[str, Any]) -> None:
        with self.store.db.write() as con:
            run = runs_sql.get(con, self.run_id)
            runs_sql.update(
                con,
                self.run_id,
                step_details=self.details,
                progress={"step": "done", "status": status, "updated_at": time.time()},
                device={**run.device_json, "models": models},
            )
            runs_sql.finish(con, self.run_id, status, error)
