"""Cancel a project's background run, and read one run of a project (for the HTTP API).

A background run is a detached ``genesis process-project`` worker (:mod:`.launch`) in its own
session: cancelling signals that session, waits for the project's run lock to be released, and
records the run as failed with the reason (what finished stays in the stage cache; the next
run resumes).
"""

from __future__ import annotations

import os
import signal
import socket
import time

from genesis_pipeline.errors import NotFoundError, RunInProgressError
from genesis_pipeline.runs.control import run_state
from genesis_pipeline.runs.launch import last_launch, pid_alive
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.store import Store
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store.records import RunRecord

#: How long a worker may take to stop after SIGTERM before it is killed.
STOP_WAIT_S = 10.0


def get_run(store: Store, project_id: int, run_id: int) -> RunRecord:
    """Raises: NotFoundError: no such run in the project."""
    with store.db.read() as con:
        run = runs_sql.get(con, run_id)
    if run.project_id != int(project_id):
        raise NotFoundError(f"run {run_id}: not a run of project {project_id}")
    return run


def cancel_run(
    store: Store, project_id: int, reason: str | None = None, *, actor: Actor
) -> RunRecord | None:
    """Stop the project's background run; returns the run as recorded afterwards (failed with
    ``reason``, by default "cancelled by <actor>").

    Raises:
        NotFoundError: no background run of the project is going.
        RunInProgressError: the run holds its lock but was not started in the background
            (a ``genesis process-project`` in a terminal): stop it there.
        PermissionDeniedError: the actor may not start or stop runs.
    """
    access.require(actor, "review", "runs.cancel")
    reason = reason or f"cancelled by {actor.label}"
    state = run_state(store, project_id)
    launch = last_launch(store, f"project-{int(project_id)}")
    if not state.active:
        raise NotFoundError(f"project {project_id}: no run in progress")
    if launch is None or not pid_alive(launch.pid):
        raise RunInProgressError(
            f"project {project_id}: the run was not started in the background; stop it where "
            "it runs"
        )
    for sig, wait in ((signal.SIGTERM, STOP_WAIT_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(launch.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while pid_alive(launch.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pid_alive(launch.pid):
            break
    with store.db.write() as con:
        stopped = runs_sql.running(con, project_id)
        for run in stopped:
            runs_sql.finish(con, run.id, "failed", reason)
        latest = runs_sql.latest(con, project_id)
        if latest is None or latest.pid != launch.pid:
            # Stopped after it took the run lock but before it recorded its run: record the
            # run here, so the cancel is in the history rather than answered with nothing.
            started = runs_sql.start(
                con,
                project_id,
                pid=launch.pid,
                host=socket.gethostname(),
                options={},
                device={},
            )
            runs_sql.finish(con, started.id, "failed", f"{reason} before its first step")
            stopped.append(started)
            latest = runs_sql.get(con, started.id)
        access.permit(
            con, actor, "review", "runs.cancel", project_id, {"run_ids": [r.id for r in stopped]}
        )
        return latest
