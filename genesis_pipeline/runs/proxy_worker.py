"""The playable-copy worker: ``genesis make-proxies`` for a project, started by the app after an
upload so neither the upload nor the page waits for the copies.

One worker serves a project at a time (``locks/proxies-project-<id>.lock``); it keeps going
until no media file of the project is left without its copy, so files uploaded while it works
are picked up too. Each copy is made by :func:`genesis_pipeline.services.playback.ensure_proxy`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from genesis_pipeline.files import remove_stale_temporaries
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.runs.launch import last_launch, launch_worker, pid_alive
from genesis_pipeline.services.playback import STAGE, ProxyOutcome, ensure_proxy, project_playback
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
        while True:
            with store.db.read() as con:
                project = projects_sql.get(con, project_id)
                media = media_sql.list_for_project(con, project_id)
            todo = [m for m in media if m.id not in outcomes]
            if not todo:
                return list(outcomes.values())
            for m in todo:
                outcomes[m.id] = ensure_proxy(
                    store, project, m, retry_failed=retry_failed, progress=progress
                )


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
