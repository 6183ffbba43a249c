"""The store: the DuckDB file, the artifact tree and the stage cache under one data dir.

:class:`Store` is the one place that decides the data dir's layout (docs/data-model.md draws
it); everything else asks it for a folder or file by name. Footage and artifacts live in its
:attr:`Store.storage` (the data dir itself, or S3): rows record keys (paths relative to the data
dir), absolute paths (host-folder imports) or ``s3://`` URIs (S3 imports), and the store turns
each into a local path to read (:meth:`Store.local_path`) or publishes a local file under a key
(:meth:`Store.publish`). The DuckDB file, locks and logs always stay on this host.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError, ObjectMissingError
from genesis_pipeline.files import atomic_dir
from genesis_pipeline.storage import (
    STAGING_DIR,
    Storage,
    StorageAccess,
    access_for,
    open_storage,
)
from genesis_pipeline.store.cache import StageCache
from genesis_pipeline.store.db import Database

if TYPE_CHECKING:
    from genesis_pipeline.storage.s3 import S3Storage

#: The per-project folders: ``<home>/<kind>/<project id>/``.
ProjectFolder = Literal["media", "artifacts", "scene_previews", "renders", "voiceovers", "proxies"]


class Store:
    """Everything under ``settings.home``. Cheap to construct; holds no open connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.home.resolve()
        self.db = Database(self.home / "genesis.duckdb")
        #: Where footage and artifacts live; S3 is contacted (and checked) on first use.
        self.storage: Storage = open_storage(settings, self.home)
        #: What a worker needs to open the same storage itself (sent with each stage call).
        self.access: StorageAccess = access_for(settings, self.home)
        self.remote = settings.uses_s3
        self.cache = StageCache(self.home / "cache", self.storage if self.remote else None)

    # -- the layout ------------------------------------------------------------------------------
    def project_dir(self, kind: ProjectFolder, project_id: int) -> Path:
        """``<home>/<kind>/<project_id>`` for media, artifacts, previews, renders, voiceovers and
        playable copies."""
        return self.home / kind / str(int(project_id))

    @staticmethod
    def project_key(kind: ProjectFolder, project_id: int, *names: str | int) -> str:
        """``<kind>/<project_id>/<names…>``: the key a project's file is stored under."""
        return "/".join([kind, str(int(project_id)), *(str(n) for n in names)])

    @property
    def uploads_dir(self) -> Path:
        """Where upload tickets' files wait for their finalize: ``uploads/<upload id>/``."""
        return self.home / "uploads"

    def upload_path(self, upload_id: str, file_name: str) -> Path:
        return self.uploads_dir / upload_id / file_name

    @property
    def locks_dir(self) -> Path:
        """Run locks, launch markers of background workers, playable-copy locks."""
        return self.home / "locks"

    def lock_path(self, name: str) -> Path:
        return self.locks_dir / name

    def run_lock_path(self, project_id: int) -> Path:
        """The per-project run lock: held by the process running the project's pipeline, and
        by whatever must not happen during a run (removing the project or its media)."""
        return self.lock_path(f"project-{int(project_id)}.lock")

    @property
    def logs_dir(self) -> Path:
        """Output of background runs and workers started from the app."""
        return self.home / "logs"

    @property
    def demo_source_dir(self) -> Path:
        """The demo clip and voiceover, generated here when the checkout's ``data/demo/`` is
        not there (an installed wheel)."""
        return self.home / "demo-source"

    def path(self, *parts: str | int) -> Path:
        """``<home>/<parts...>`` (for tools and tests; code asks for the named places above)."""
        return self.home.joinpath(*(str(p) for p in parts))

    # -- paths users give, paths rows keep --------------------------------------------------------
    def inside(self, path: str | Path, setting: str = "path") -> Path:
        """Resolve ``path`` and require it to lie inside the data dir.

        Raises:
            InvalidSettingError: the path escapes the data dir (``..``, absolute elsewhere, links).
        """
        p = Path(path)
        resolved = (p if p.is_absolute() else self.home / p).resolve()
        if resolved != self.home and self.home not in resolved.parents:
            raise InvalidSettingError(setting, f"{path} lies outside the data dir {self.home}")
        return resolved

    def relative(self, path: str | Path) -> str:
        """Path relative to the data dir when inside it (what the store records), else absolute.
        With S3 storage a copy in the read-through cache maps back to its key."""
        if self.remote:
            key = self.storage.key_of(Path(path))
            if key is not None:
                return key
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self.home))
        except ValueError:
            return str(p)

    def absolute(self, recorded: str) -> Path:
        """The local path of what a row recorded (relative to the data dir, or absolute for
        imports). With S3 storage: where the object's copy is (or will be, once fetched with
        :meth:`local_path`) in the read-through cache."""
        if recorded.startswith("s3://"):
            storage, key = self.s3_object(recorded)
            return storage.local_path(key)
        p = Path(recorded)
        if p.is_absolute():
            return p
        return self.storage.local_path(recorded) if self.remote else self.home / p

    # -- bytes in the storage ---------------------------------------------------------------------
    def local_path(self, recorded: str) -> Path:
        """A local file holding what a row recorded, for PyAV/ffmpeg to read: the file itself
        (local storage, host-folder imports), or a copy fetched into the read-through cache.

        Raises:
            ObjectMissingError: the object is gone from the storage (names it).
        """
        if recorded.startswith("s3://"):
            storage, key = self.s3_object(recorded)
            return storage.get_path(key)
        p = Path(recorded)
        if p.is_absolute() or not self.remote:
            return self.absolute(recorded)
        return self.storage.get_path(recorded)

    def local_copy(self, path: Path) -> Path:
        """Make sure a path :meth:`absolute` gave holds its bytes (fetch it when it is a copy
        of a remote object); returns it."""
        if not self.remote:
            return path
        recorded = self.storage.key_of(path)
        return path if recorded is None else self.local_path(recorded)

    def location(self, recorded: str) -> str:
        """What a row recorded, named for people: an absolute path or an ``s3://`` URI."""
        p = Path(recorded)
        if recorded.startswith("s3://") or p.is_absolute():
            return recorded
        return self.storage.uri(recorded) if self.remote else str(self.home / p)

    def locator_of(self, path: Path) -> str:
        """What a worker opens for a path :meth:`absolute` gave (no download here): the path
        itself (local storage, host-folder imports) or the object's ``s3://`` URI."""
        return self.location(self.relative(path))

    def object_size(self, recorded: str) -> int | None:
        """The size of what a row recorded, or None when it is gone (no download)."""
        if recorded.startswith("s3://"):
            storage, key = self.s3_object(recorded)
            info = storage.head(key)
            return None if info is None else info.size
        p = Path(recorded)
        if p.is_absolute() or not self.remote:
            p = self.absolute(recorded)
            return p.stat().st_size if p.is_file() else None
        info = self.storage.head(recorded)
        return None if info is None else info.size

    def exists(self, recorded: str) -> bool:
        """Whether what a row recorded is still there (no download)."""
        return self.object_size(recorded) is not None

    def output_path(self, key: str) -> Path:
        """Where a step writes the file it will :meth:`publish` under ``key``: the final place
        in the data dir (local storage: writers rename into place, as always), or a staging
        path on this host (S3)."""
        if not self.remote:
            return self.home / key
        return self.home / STAGING_DIR / "out" / key

    def publish(self, path: Path, key: str) -> str:
        """Make the complete local file ``path`` the object ``key``; returns what a row records.

        Local storage: nothing to do when ``path`` is already ``<home>/<key>``. S3: uploaded
        (multipart when large), then kept as the cached copy. Record the key only after this
        returns: a row never points at an object that is not there."""
        if self.remote or Path(path).resolve() != (self.home / key).resolve():
            self.storage.put_file(Path(path), key, move=self.remote)
        return key

    def put_json(self, key: str, obj: Any) -> str:
        """Publish ``obj`` as JSON (the layout ``files.write_json`` writes) under ``key``."""
        with self.storage.writing(key) as tmp:
            tmp.write_bytes(json.dumps(obj, indent=1, default=str).encode())
        return key

    def publish_tree(
        self, src_prefix: str, dst_prefix: str, *, replace: bool = False, only: bool = False
    ) -> str:
        """Copy every object under ``src_prefix/`` to ``dst_prefix/`` (locally hard links into
        a folder renamed into place; on S3 server-side copies); an existing ``dst_prefix`` is
        kept unless ``replace``. ``only``: then remove the other folders beside ``dst_prefix``
        (older sets no row points at any more). Returns ``dst_prefix``."""
        if self.remote:
            have = self.storage.list_prefix(dst_prefix)
            if not have or replace:
                self.storage.delete_prefix(dst_prefix)
                srcs = [o.key for o in self.storage.list_prefix(src_prefix)]

                def copy(key: str) -> None:
                    self.storage.copy(key, f"{dst_prefix}/{key[len(src_prefix) + 1 :]}")

                with ThreadPoolExecutor(8) as pool:  # S3 copies many objects at once
                    list(pool.map(copy, srcs))
            if only:
                parent = dst_prefix.rsplit("/", 1)[0]
                for o in self.storage.list_prefix(parent):
                    if not o.key.startswith(dst_prefix + "/"):
                        self.storage.delete(o.key)
            return dst_prefix
        src, final = self.home / src_prefix, self.home / dst_prefix
        if not final.is_dir() or replace:
            if final.exists():
                shutil.rmtree(final)
            with atomic_dir(final) as tmp:
                for p in src.iterdir():
                    try:
                        os.link(p, tmp / p.name)
                    except OSError:  # another filesystem: copy
                        shutil.copyfile(p, tmp / p.name)
        if only:
            for old in final.parent.iterdir():
                if old != final and not old.name.startswith("."):
                    with contextlib.suppress(OSError):
                        shutil.rmtree(old)
        return dst_prefix

    def delete_file(self, recorded: str) -> bool:
        """Remove a file Genesis made or took in (a key in the storage); returns whether it
        was one. Footage registered in place (a host folder, an ``s3://`` import) belongs to
        its owner and is left alone."""
        if recorded.startswith("s3://") or Path(recorded).is_absolute():
            return False
        self.storage.delete(recorded)
        return True

    def display_url(self, recorded: str) -> str:
        """What a browser page shows for a recorded file: a local path (Streamlit serves it) or a
        presigned GET URL (S3), valid for ``GENESIS_PRESIGN_TTL_S``."""
        p = Path(recorded)
        if not self.remote or p.is_absolute():
            return str(self.absolute(recorded))
        if recorded.startswith("s3://"):
            storage, key = self.s3_object(recorded)
            return storage.read_url(key)
        return self.storage.read_url(recorded)

    def read_url(self, recorded: str) -> str:
        """What PyAV/ffmpeg open to read a recorded file by range reads, without a local copy:
        a local path, or a presigned GET URL.

        Raises:
            ObjectMissingError: the object is gone.
        """
        if recorded.startswith("s3://"):
            storage, key = self.s3_object(recorded)
            if storage.head(key) is None:
                raise ObjectMissingError(recorded)
            return storage.read_url(key)
        p = Path(recorded)
        if p.is_absolute() or not self.remote:
            return str(self.local_path(recorded))
        if not self.storage.exists(recorded):
            raise ObjectMissingError(self.storage.uri(recorded))
        return self.storage.read_url(recorded)

    def s3_object(self, uri: str) -> tuple[S3Storage, str]:
        """The S3 storage and key of an ``s3://`` URI a row recorded (S3 imports).

        Raises:
            InvalidSettingError: the store has no S3 storage to read it with.
        """
        from genesis_pipeline.storage.s3 import S3Storage

        if not isinstance(self.storage, S3Storage):
            raise InvalidSettingError(
                "GENESIS_STORAGE", f"{uri} is in S3 but the storage is local; set s3://bucket/…"
            )
        return self.storage.resolve(uri)


__all__ = ["Database", "ProjectFolder", "StageCache", "Storage", "Store"]
