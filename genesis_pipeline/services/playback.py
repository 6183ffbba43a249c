"""Playback: what a page's player should load for a media file, and the proxies behind it.

A source a browser plays as it is (:func:`genesis_pipeline.media.playability.browser_verdict`)
plays from its own file. Any other source gets a small H.264/AAC copy
(:mod:`genesis_pipeline.stages.proxy`) made once per content and settings: the copy lives in the
stage cache (``cache/proxy/<key>/``, keyed on the source's sha256, the proxy params and the
stage VERSION), is hard-linked to ``proxies/<project>/`` and recorded in ``media_proxies``.

Who makes it: the app starts :func:`start_proxy_worker` after an upload (a ``genesis
make-proxies`` process of its own, so neither the upload nor the page waits), and the pipeline's
``proxies`` step makes whatever is still missing. A per-copy file lock lets exactly one process
encode a copy; the others skip it (a run never waits for, nor redoes, the worker's copy), and the
lock tells pages that a copy is being prepared.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline import serde
from genesis_pipeline.config import Settings
from genesis_pipeline.errors import GenesisError, InvalidSettingError
from genesis_pipeline.files import atomic_path, remove_stale_temporaries
from genesis_pipeline.media.playability import PlaybackFacts, Verdict, browser_verdict
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.stages.proxy import VERSION, Proxy, ProxyParams, make_proxy
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import proxies as proxies_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import MediaFile, Project, ProxyRecord

log = logging.getLogger(__name__)

STAGE = "proxy"
SETTINGS_KEY = "proxy_params"  # per-project overrides of ProxyParams in projects.settings_json
RESULT_FILE = "proxy.json"
PREPARING = "Preparing a playable copy…"
# A launched worker that has not taken its lock within this long is considered dead.
_LAUNCH_GRACE_S = 60.0
_RELAUNCH_S = 10.0
# Taking a lock retries this long: a page probing "is a copy being made?" holds it for an instant.
_LOCK_ATTEMPTS, _LOCK_RETRY_S = 10, 0.02


@dataclass(frozen=True, slots=True)
class Playback:
    """What a player should load for one media file, or why it has nothing yet.

    ``state`` is ``source`` (plays as it is), ``proxy`` (plays the copy at ``path``),
    ``preparing`` (a process is making the copy now), ``queued`` (a copy is needed and nobody is
    making it: start a worker) or ``failed`` (no copy could be made: ``error`` says why).
    """

    media_id: int
    project_id: int
    name: str
    state: str
    path: str | None  # absolute path for the player; None while there is nothing to play
    reason: str = ""  # why the source itself does not play in browsers ("" when it does)
    error: str | None = None
    progress: float | None = None  # 0..1 while preparing, when the maker reported it

    @property
    def playable(self) -> bool:
        return self.path is not None

    @property
    def message(self) -> str:
        """One sentence for the page: what plays, what is being done, or why nothing plays."""
        if self.state == "source":
            return ""
        if self.state == "proxy":
            return f"Playing a small H.264 copy: {self.reason}."
        if self.state == "failed":
            return (
                f"{self.name} cannot be played here: {self.reason}, and making a playable copy "
                f"failed: {self.error}"
            )
        done = f" {self.progress:.0%} done." if self.progress is not None else ""
        return (
            f"{PREPARING}{done} {self.name} cannot play here as it is: {self.reason}. "
            "The player appears when the copy is ready."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "media_id": self.media_id,
            "project_id": self.project_id,
            "name": self.name,
            "state": self.state,
            "path": self.path,
            "reason": self.reason,
            "error": self.error,
            "progress": self.progress,
        }


@dataclass(frozen=True, slots=True)
class ProxyOutcome:
    """What :func:`ensure_proxy` did for one media file.

    ``status``: ``playable`` (no copy needed), ``ready`` (already recorded), ``cached`` (taken
    from the stage cache), ``made`` (encoded now), ``busy`` (another process is making it),
    ``failed`` (``error`` says why; recorded, so pages can say it).
    """

    media_id: int
    name: str
    status: str
    reason: str = ""
    path: str | None = None
    error: str | None = None
    proxy: Proxy | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "media_id": self.media_id,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "path": self.path,
            "error": self.error,
            "proxy": serde.to_json(self.proxy) if self.proxy else None,
        }


# -- the rule and the key --------------------------------------------------------------------------
def verdict(media: MediaFile) -> Verdict:
    """Whether browsers play ``media`` as it is (from its probe facts), and why not."""
    facts = PlaybackFacts.from_probe(
        {
            **media.probe_json,
            "has_video": media.has_video,
            "has_audio": media.has_audio,
            "video_codec": media.video_codec,
            "audio_codec": media.audio_codec,
        },
        media.stored_name,
    )
    return browser_verdict(facts)


def proxy_params(project: Project) -> ProxyParams:
    """The project's proxy params: its saved overrides over the defaults (unknown names ignored).

    Raises:
        InvalidSettingError: a saved override is out of range.
    """
    saved = dict(project.settings_json.get(SETTINGS_KEY) or {})
    known = {f.name for f in dataclasses.fields(ProxyParams)}
    return ProxyParams(**{k: v for k, v in saved.items() if k in known})


def proxy_key(media: MediaFile, params: ProxyParams) -> str:
    """The stage-cache key of ``media``'s proxy: its content, the params, the stage VERSION."""
    return stage_key(STAGE, VERSION, params, {"media": media.sha256})


# -- what a player loads ---------------------------------------------------------------------------
def playback(store: Store, media_id: int) -> Playback:
    """What a player should load for ``media_id`` right now (one short read, no waiting).

    Raises:
        NotFoundError: no such media file.
    """
    with store.db.read() as con:
        media = media_sql.get(con, media_id)
        project = projects_sql.get(con, media.project_id)
        row = proxies_sql.get(con, media_id)
    return _playback(store, project, media, row)


def project_playback(store: Store, project_id: int) -> list[Playback]:
    """:func:`playback` for every media file of the project, in project order.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        project = projects_sql.get(con, project_id)
        media = media_sql.list_for_project(con, project_id)
        rows = {r.media_id: r for r in proxies_sql.list_for_project(con, project_id)}
    return [_playback(store, project, m, rows.get(m.id)) for m in media]


def _playback(
    store: Store, project: Project, media: MediaFile, row: ProxyRecord | None
) -> Playback:
    def state(name: str, path: Path | None = None, **more: Any) -> Playback:
        where = str(path) if path is not None else None
        return Playback(media.id, media.project_id, media.original_name, name, where, **more)

    v = verdict(media)
    if v.playable:
        return state("source", store.absolute(media.path))
    try:
        key = proxy_key(media, proxy_params(project))
    except InvalidSettingError as exc:
        return state("failed", reason=v.reason, error=str(exc))
    if row is not None and row.cache_key == key:
        if row.status == "ready" and row.path and store.absolute(row.path).is_file():
            return state("proxy", store.absolute(row.path), reason=v.reason)
        if row.status == "failed":
            return state("failed", reason=v.reason, error=row.error)
    lock = _CopyLock(store, key)
    if lock.held():
        return state("preparing", reason=v.reason, progress=lock.progress())
    return state("queued", reason=v.reason)


# -- making proxies --------------------------------------------------------------------------------
def ensure_proxy(
    store: Store,
    project: Project,
    media: MediaFile,
    *,
    params: ProxyParams | None = None,
    force: bool = False,
    retry_failed: bool = False,
    progress: Progress = no_progress,
) -> ProxyOutcome:
    """Make sure ``media`` has a playable copy if it needs one; encode only on a cache miss.

    Never waits for another process: a copy someone else is making is reported ``busy``.
    ffmpeg failing, a copy that comes out wrong or a full disk is recorded as ``failed`` with
    the reason, not raised. ``retry_failed`` tries a failed copy again; ``force`` re-encodes.

    Raises:
        InvalidSettingError: the project's proxy params are out of range.
    """
    v = verdict(media)
    name = media.original_name
    if v.playable:
        return ProxyOutcome(media.id, name, "playable")
    params = params or proxy_params(project)
    key = proxy_key(media, params)
    with store.db.read() as con:
        row = proxies_sql.get(con, media.id)
    if row is not None and row.cache_key == key and not force:
        if row.status == "ready" and row.path and store.absolute(row.path).is_file():
            return ProxyOutcome(media.id, name, "ready", v.reason, row.path)
        if row.status == "failed" and not retry_failed:
            return ProxyOutcome(media.id, name, "failed", v.reason, error=row.error)
    with _CopyLock(store, key).taken() as lock:
        if lock is None:
            return ProxyOutcome(media.id, name, "busy", v.reason)
        cache = store.cache
        proxy = None if force else cache.lookup(STAGE, key, _load)
        status = "cached"
        if proxy is None:
            shutil.rmtree(cache.entry(STAGE, key), ignore_errors=True)
            source = store.absolute(media.path)

            def report(done: int, total: int, note: str) -> None:
                lock.report(done, total)
                progress(done, total, f"{name}: {note}")

            def compute(d: Path) -> dict[str, Any]:
                made = make_proxy(
                    source,
                    d,
                    has_video=media.has_video,
                    has_audio=media.has_audio,
                    duration_s=media.duration_s,
                    params=params,
                    progress=report,
                )
                (d / RESULT_FILE).write_text(json.dumps(serde.to_json(made)))
                return {"media_sha256": media.sha256}

            try:
                proxy = _load(cache.store(STAGE, key, compute))
            except (GenesisError, OSError) as exc:  # ffmpeg failed, a full disk: say so
                log.warning("no playable copy of %s: %s", name, exc)
                with store.db.write() as con:
                    proxies_sql.put_failed(
                        con,
                        media_id=media.id,
                        project_id=media.project_id,
                        cache_key=key,
                        reason=v.reason,
                        error=str(exc),
                    )
                return ProxyOutcome(media.id, name, "failed", v.reason, error=str(exc))
            status = "made"
        published = _publish(store, media, key, cache.entry(STAGE, key) / proxy.file)
        with store.db.write() as con:
            proxies_sql.put_ready(
                con,
                media_id=media.id,
                project_id=media.project_id,
                cache_key=key,
                path=store.relative(published),
                reason=v.reason,
                size_bytes=proxy.size_bytes,
                duration_s=proxy.duration_s,
                encode_s=proxy.encode_s,
                metadata=serde.to_json(proxy),
            )
        _remove_older_copies(published, media.id)
        return ProxyOutcome(
            media.id, name, status, v.reason, store.relative(published), None, proxy
        )


def make_project_proxies(
    store: Store,
    project_id: int,
    *,
    retry_failed: bool = False,
    progress: Progress = no_progress,
) -> list[ProxyOutcome]:
    """Make every missing proxy of the project (the background worker's job).

    Keeps going until no media file of the project is left without its copy, so files uploaded
    while it works are picked up too. Returns nothing when another worker already serves the
    project.

    Raises:
        NotFoundError: no such project.
        InvalidSettingError: the project's proxy params are out of range.
    """
    with _flock_or_none(store.path("locks", f"proxies-project-{int(project_id)}.lock")) as fd:
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
    from genesis_pipeline.runs.control import pid_alive, settings_env

    if not any(p.state == "queued" for p in project_playback(store, project_id)):
        return None
    lock_path = store.path("locks", f"proxies-project-{int(project_id)}.lock")
    with _flock_or_none(lock_path) as fd:
        if fd is None:  # a worker is at it (it picks up new files before it stops)
            return None
    marker = store.path("locks", f"proxies-project-{int(project_id)}.launch")
    try:
        launch = json.loads(marker.read_text())
        age = time.time() - float(launch["at"])
        # Launched and not yet holding its lock; or died at once: a page polling every few
        # seconds must not start a worker each time.
        if age < _RELAUNCH_S or (age < _LAUNCH_GRACE_S and pid_alive(int(launch["pid"]))):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    logs = store.path("logs")
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"proxies-project{int(project_id)}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    cmd = [
        sys.executable,
        "-m",
        "genesis_pipeline.cli",
        "make-proxies",
        "--project-id",
        str(int(project_id)),
        "--data-dir",
        str(store.home),
        "--nice",
        "10",
        "--json",
        "-q",
    ]
    # Exactly this store's settings, as for background runs (services.runs).
    setting_vars = {str(f.metadata["env"]) for f in dataclasses.fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in setting_vars}
    env.update(settings_env(store.settings))
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
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"pid": proc.pid, "at": time.time(), "log": str(log_path)}))
    log.info("project %s: playable copies being made by worker %s", project_id, proc.pid)
    return proc.pid


# -- files and locks -------------------------------------------------------------------------------
def _load(d: Path) -> Proxy:
    proxy = serde.from_json(Proxy, json.loads((d / RESULT_FILE).read_text()))
    if (d / proxy.file).stat().st_size != proxy.size_bytes:
        raise ValueError(f"{proxy.file} is not the file that was made")
    return proxy


def _publish(store: Store, media: MediaFile, key: str, made: Path) -> Path:
    """Hard-link the cached copy to ``proxies/<project>/media-<id>-<key>.<ext>`` (a copy across
    filesystems), so pruning the cache never takes a recorded file away."""
    final = (
        store.project_dir("proxies", media.project_id) / f"media-{media.id}-{key[:12]}{made.suffix}"
    )
    if final.is_file() and final.stat().st_size == made.stat().st_size:
        return final
    with atomic_path(final) as tmp:
        try:
            os.link(made, tmp)
        except OSError:
            shutil.copyfile(made, tmp)
    return final


def _remove_older_copies(current: Path, media_id: int) -> None:
    for old in current.parent.glob(f"media-{int(media_id)}-*"):
        if old != current:
            with contextlib.suppress(OSError):
                old.unlink()


@contextlib.contextmanager
def _flock_or_none(path: Path) -> Iterator[int | None]:
    """Hold an exclusive ``flock`` on ``path`` (yields its fd), or yield None when another
    process holds it (after riding out a momentary holder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for i in range(_LOCK_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if i == _LOCK_ATTEMPTS - 1:
                    yield None
                    return
                time.sleep(_LOCK_RETRY_S)
        yield fd
    finally:
        os.close(fd)


class _CopyLock:
    """The lock of one copy (``locks/proxy-<key>.lock``); its holder writes its progress in it."""

    def __init__(self, store: Store, key: str) -> None:
        self.path = store.path("locks", f"proxy-{key[:32]}.lock")
        self.fd: int | None = None

    @contextlib.contextmanager
    def taken(self) -> Iterator[_CopyLock | None]:
        with _flock_or_none(self.path) as fd:
            if fd is None:
                yield None
                return
            self.fd = fd
            self.report(0, 0)
            try:
                yield self
            finally:
                self.fd = None

    def report(self, done: int, total: int) -> None:
        if self.fd is None:
            return
        text = json.dumps({"pid": os.getpid(), "done": done, "total": total}).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text, 0)

    def held(self) -> bool:
        """Whether some process holds the lock now (probed without waiting)."""
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def progress(self) -> float | None:
        try:
            doc = json.loads(self.path.read_text() or "{}")
            done, total = float(doc.get("done", 0)), float(doc.get("total", 0))
        except (OSError, ValueError, AttributeError):
            return None
        return min(1.0, done / total) if total > 0 else None
