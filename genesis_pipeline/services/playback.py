"""Playback: what a page's player should load for a media file, and the proxies behind it.

A source a browser plays as it is (:func:`genesis_pipeline.media.playability.browser_verdict`)
plays from its own file. Any other source gets a small H.264/AAC copy
(:mod:`genesis_pipeline.stages.proxy`) made once per content and settings: the copy lives in the
stage cache (``cache/proxy/<key>/``, keyed on the source's sha256, the proxy params and the
stage VERSION), is hard-linked to ``proxies/<project>/`` and recorded in ``media_proxies``.

Who makes it: the app starts a worker after an upload (``genesis make-proxies`` in a process
of its own, :mod:`genesis_pipeline.runs.proxy_worker`, so neither the upload nor the page
waits), and the pipeline's ``proxies`` step makes whatever is still missing. A per-copy file
lock lets exactly one process encode a copy; the others skip it (a run never waits for, nor
redoes, the worker's copy), and the lock tells pages that a copy is being prepared.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline import serde
from genesis_pipeline.errors import GenesisError, InvalidSettingError, StorageError
from genesis_pipeline.media.playability import PlaybackFacts, Verdict, browser_verdict
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.stages.proxy import VERSION, Proxy, ProxyParams, make_proxy
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import proxies as proxies_sql
from genesis_pipeline.store.cache import MANIFEST, StageCache, stage_key
from genesis_pipeline.store.locks import exclusive_or_none, is_held
from genesis_pipeline.store.records import MediaFile, Project, ProxyRecord

log = logging.getLogger(__name__)

STAGE = "proxy"
SETTINGS_KEY = "proxy_params"  # per-project overrides of ProxyParams in projects.settings_json
RESULT_FILE = "proxy.json"
PREPARING = "Preparing a playable copy…"


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


@dataclass(frozen=True, slots=True)
class ProxyOutcome:
    """What :func:`ensure_proxy` did for one media file.

    ``status``: ``playable`` (no copy needed), ``ready`` (already recorded), ``cached`` (taken
    from the stage cache), ``made`` (encoded now), ``busy`` (another process is making it),
    ``failed`` (``error`` says why; recorded, so pages can say it). ``serde.to_json`` of it is
    an entry of ``genesis make-proxies --json``.
    """

    media_id: int
    name: str
    status: str
    reason: str = ""
    path: str | None = None
    error: str | None = None
    proxy: Proxy | None = None


@dataclass(frozen=True, slots=True)
class ProxyJob:
    """One playable copy to make: the source (a path or an ``s3://`` URI, as a worker opens
    it), the copy's stage-cache key and the source's facts :func:`make_proxy` needs."""

    name: str
    source: str
    cache_key: str
    sha256: str
    has_video: bool
    has_audio: bool
    duration_s: float
    params: ProxyParams


#: Makes ``job``'s copy as the stage-cache entry ``cache/proxy/<key>/`` in the storage and
#: returns what it made (reporting ``(done, total, note)``).
ProxyEncoder = Callable[[ProxyJob, Progress], Proxy]


def encode_entry(cache: StageCache, job: ProxyJob, source: Path, progress: Progress) -> Proxy:
    """Encode ``source`` into ``job``'s cache entry in ``cache`` (published whole, its manifest
    last); returns the copy.

    Raises:
        MediaToolError: ffmpeg failed.
        StageError: the copy came out wrong.
        OSError: the entry could not be written (a full disk).
    """
    made: list[Proxy] = []

    def compute(d: Path) -> dict[str, Any]:
        proxy = make_proxy(
            source,
            d,
            has_video=job.has_video,
            has_audio=job.has_audio,
            duration_s=job.duration_s,
            params=job.params,
            progress=progress,
        )
        (d / RESULT_FILE).write_text(json.dumps(serde.to_json(proxy)))
        made.append(proxy)
        return {"media_sha256": job.sha256}

    cache.store(STAGE, job.cache_key, compute)
    return made[0]


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
    def state(name: str, recorded: str | None = None, **more: Any) -> Playback:
        # A local path, or with S3 storage a presigned URL the browser fetches itself.
        where = store.display_url(recorded) if recorded is not None else None
        return Playback(media.id, media.project_id, media.original_name, name, where, **more)

    v = verdict(media)
    if v.playable:
        return state("source", media.path)
    try:
        key = proxy_key(media, proxy_params(project))
    except InvalidSettingError as exc:
        return state("failed", reason=v.reason, error=str(exc))
    if row is not None and row.cache_key == key:
        if row.status == "ready" and row.path and store.exists(row.path):
            return state("proxy", row.path, reason=v.reason)
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
    encode: ProxyEncoder | None = None,
) -> ProxyOutcome:
    """Make sure ``media`` has a playable copy if it needs one; encode only on a cache miss,
    here or with ``encode`` (run control's: on a Ray worker that reads the source from the
    storage and publishes the copy's cache entry itself).

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
        if row.status == "ready" and row.path and store.exists(row.path):
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
            cache.delete(STAGE, key)
            job = ProxyJob(
                name=name,
                source=store.location(media.path),
                cache_key=key,
                sha256=media.sha256,
                has_video=media.has_video,
                has_audio=media.has_audio,
                duration_s=media.duration_s,
                params=params,
            )

            def report(done: int, total: int, note: str) -> None:
                lock.report(done, total)
                progress(done, total, f"{name}: {note}")

            make = encode or _here(cache, store.local_path(media.path))
            try:
                proxy = make(job, report)
                if encode is not None:  # made elsewhere (a Ray worker): is it there, whole?
                    _check_made(store, key, proxy)
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
        published = _publish(store, media, key, proxy.file)
        with store.db.write() as con:
            proxies_sql.put_ready(
                con,
                media_id=media.id,
                project_id=media.project_id,
                cache_key=key,
                path=published,
                reason=v.reason,
                size_bytes=proxy.size_bytes,
                duration_s=proxy.duration_s,
                encode_s=proxy.encode_s,
                metadata=serde.to_json(proxy),
            )
        _remove_older_copies(store, published, media)
        return ProxyOutcome(media.id, name, status, v.reason, published, None, proxy)


# -- files and locks -------------------------------------------------------------------------------
def _here(cache: StageCache, source: Path) -> ProxyEncoder:
    """Encode in this process, from ``source`` (the host's copy of the footage)."""
    return lambda job, progress: encode_entry(cache, job, source, progress)


def _check_made(store: Store, key: str, proxy: Proxy) -> None:
    """Raises: StorageError: the copy another process published is not there, complete."""
    entry = store.cache.entry_key(STAGE, key)
    made = f"{entry}/{proxy.file}"
    there = store.object_size(made)
    if there != proxy.size_bytes or not store.exists(f"{entry}/{MANIFEST}"):
        have = "missing" if there is None else f"{there} bytes, not {proxy.size_bytes}"
        raise StorageError(f"{store.location(made)}: the playable copy the worker made is {have}")


def _load(d: Path) -> Proxy:
    proxy = serde.from_json(Proxy, json.loads((d / RESULT_FILE).read_text()))
    if (d / proxy.file).stat().st_size != proxy.size_bytes:
        raise ValueError(f"{proxy.file} is not the file that was made")
    return proxy


def _publish(store: Store, media: MediaFile, key: str, made: str) -> str:
    """Hard-link (S3: copy) the cached copy to ``proxies/<project>/media-<id>-<key>.<ext>`` (a
    copy across filesystems), so pruning the cache never takes a recorded file away; returns
    its key."""
    name = f"media-{media.id}-{key[:12]}{Path(made).suffix}"
    final = store.project_key("proxies", media.project_id, name)
    src = f"{store.cache.prefix}/{STAGE}/{key}/{made}"
    have = store.object_size(final)
    if have is None or have != store.object_size(src):
        store.storage.copy(src, final)
    return final


def _remove_older_copies(store: Store, current: str, media: MediaFile) -> None:
    folder = store.project_key("proxies", media.project_id)
    for old in store.storage.list_prefix(folder):
        name = old.key.rsplit("/", 1)[-1]
        if old.key != current and name.startswith(f"media-{int(media.id)}-"):
            with contextlib.suppress(OSError):
                store.storage.delete(old.key)


class _CopyLock:
    """The lock of one copy (``locks/proxy-<key>.lock``); its holder writes its progress in it."""

    def __init__(self, store: Store, key: str) -> None:
        self.path = store.lock_path(f"proxy-{key[:32]}.lock")
        self.fd: int | None = None

    @contextlib.contextmanager
    def taken(self) -> Iterator[_CopyLock | None]:
        with exclusive_or_none(self.path) as fd:
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
        return is_held(self.path)

    def progress(self) -> float | None:
        try:
            doc = json.loads(self.path.read_text() or "{}")
            done, total = float(doc.get("done", 0)), float(doc.get("total", 0))
        except (OSError, ValueError, AttributeError):
            return None
        return min(1.0, done / total) if total > 0 else None
