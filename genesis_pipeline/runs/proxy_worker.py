"""The playable-copy worker: ``genesis make-proxies`` for a project, started by the app after an
upload so neither the upload nor the page waits for the copies.

One worker serves a project at a time (``locks/proxies-project-<id>.lock``); it keeps going
until no media file of the project is left without its copy, so files uploaded while it works
are picked up too. Each copy is made by :func:`genesis_pipeline.services.playback.ensure_proxy`:
in this process with the local executor, as a CPU task on a Ray worker with ``ray``
(:func:`worker_encoder`: the worker reads the source from the storage and publishes the copy).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from genesis_pipeline.files import remove_stale_temporaries
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.runs.executor import Call, Executor, StepProgress, make_executor, tasks
from genesis_pipeline.runs.launch import last_launch, launch_worker, pid_alive
from genesis_pipeline.services.playback import (
    STAGE,
    ProxyEncoder,
    ProxyJob,
    ProxyOutcome,
    ensure_proxy,
    project_playback,
)
from genesis_pipeline.stages.proxy import Proxy
from genesis_pipeline.storage import StorageAccess
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store.locks import exclusive_or_none

log = logging.getLogger(__name__)

# A launched worker that has not taken its lock within this long is considered dead.
LAUNCH_GRACE_S = 60.0
# Launched this recently: not again (a page polling every few seconds must not start a worker
# each time, even one that died at once).
RELAUNCH_S = 10.0


@dataclass(frozen=True, slots=True)
class ProxiesMade:
    """``genesis make-proxies --json``: what was done for each media file (nothing when another
    worker serves the project)."""

    project_id: int
    media: list[ProxyOutcome]


def worker_encoder(executor: Executor, access: StorageAccess) -> ProxyEncoder | None:
    """How ``executor`` makes a playable copy: None for the local executor (in this process,
    from the host's copy of the source, as always); under ``ray`` a CPU task per copy
    (``GENESIS_RAY_CPUS_PER_TASK``) that reads the source from the storage and publishes the
    copy's cache entry itself."""
    if executor.name == "local":
        return None

    def encode(job: ProxyJob, progress: Progress) -> Proxy:
        def report(done: int, total: int, note: str) -> None:
            progress(done, total, note.removeprefix(f"{job.name}: "))

        call = Call(tasks.make_proxy_in, (access, job), job.name)
        [(_, proxy)] = list(executor.run([call], StepProgress(report, 1)))
        return proxy

    return encode


def _lock_name(project_id: int) -> str:
    return f"proxies-project-{int(project_id)}"


def make_project_proxies(
    store: Store,
    project_id: int,
    *,
    retry_failed: bool = False,
    progress: Progress = no_progress,
) -> list[ProxyOutcome]:
    """Make every missing proxy of the project (the worker's job); returns what was done for
    each media file, or nothing when another worker already serves the project.

    Raises:
        NotFoundError: no such project.
        InvalidSettingError: the project's proxy params are out of range.
    """
    with exclusive_or_none(store.lock_path(f"{_lock_name(project_id)}.lock")) as fd:
        if fd is None:
            return []
        # Leftovers of killed proxy makers (their pid is gone) go before new work starts.
        remove_stale_temporaries(store.cache.root / STAGE)
        remove_stale_temporaries(store.project_dir("proxies", project_id))
        outcomes: dict[int, ProxyOutcome] = {}
        executor = make_executor(store.settings)
        encode = worker_encoder(executor, store.access)
        try:
            while True:
                with store.db.read() as con:
                    project = projects_sql.get(con, project_id)
                    media = media_sql.list_for_project(con, project_id)
                todo = [m for m in media if m.id not in outcomes]
                if not todo:
                    return list(outcomes.values())
                for m in todo:
                    outcomes[m.id] = ensure_proxy(
                        store,
                        project,
                        m,
                        retry_failed=retry_failed,
                        progress=progress,
                        encode=encode,
                    )
        finally:
            executor.close()


def start_proxy_worker(store: Store, project_id: int) -> int | None:
    """Start ``genesis make-proxies`` for the project in its own process, if any copy is missing
    and no worker serves the project yet; returns the worker's pid, or None when none was needed.

    Raises:
        NotFoundError: no such project.
    """
    if not any(p.state == "queued" for p in project_playback(store, project_id)):
        return None
    with exclusive_or_none(store.lock_path(f"{_lock_name(project_id)}.lock")) as fd:
        if fd is None:  # a worker is at it (it picks up new files before it stops)
            return None
    launch = last_launch(store, _lock_name(project_id))
    if launch is not None:
        age = time.time() - launch.at
        # Launched and not yet holding its lock; or died at once.
        if age < RELAUNCH_S or (age < LAUNCH_GRACE_S and pid_alive(launch.pid)):
            return None
    args = ["make-proxies", "--project-id", str(int(project_id)), "--nice", "10", "--json", "-q"]
    started = launch_worker(
        store, _lock_name(project_id), f"proxies-project{int(project_id)}", args
    )
    log.info("project %s: playable copies being made by worker %s", project_id, started.pid)
    return started.pid
