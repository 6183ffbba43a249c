"""The upload service: tokenised, expiring upload targets, then validation into ``media_files``.

Local stub: ``create_upload`` issues a location under ``<home>/uploads/<id>/``; the client writes
the bytes there and calls ``finalize_upload``. An S3 implementation would return a presigned URL
behind the same two calls. Files too large for a browser upload are registered in place from the
import root (``GENESIS_IMPORT_DIR``) with :func:`import_from_folder`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, UploadError
from genesis_pipeline.files import atomic_path, fsync_dir
from genesis_pipeline.media.probe import MediaInfo, probe
from genesis_pipeline.progress import Progress
from genesis_pipeline.services.naming import sanitize_filename
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import uploads as uploads_sql
from genesis_pipeline.store.records import MediaFile

log = logging.getLogger(__name__)

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """Where and until when a client may put one file."""

    upload_id: str
    token: str
    target: Path  # local stub: the path to write; S3: a presigned URL
    expires_at: datetime
    original_name: str


@dataclass(frozen=True, slots=True)
class AddedMedia:
    media: MediaFile
    duplicate: bool  # the same content was already in the project


def _now() -> datetime:
    return datetime.now()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    """The file's content hash (what dedupes media and names stored files)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def check_size(store: Store, path: Path, name: str) -> int:
    """Raises: InvalidMediaError: the file is larger than ``GENESIS_MAX_UPLOAD_MB``."""
    size = path.stat().st_size
    limit = store.settings.max_upload_bytes
    if size > limit:
        raise InvalidMediaError(
            name,
            f"is {size / 1e6:.1f} MB, over the upload limit of {store.settings.max_upload_mb} MB "
            "(GENESIS_MAX_UPLOAD_MB); import large footage from GENESIS_IMPORT_DIR instead",
        )
    return size


def create_upload(store: Store, project_id: int, filename: str) -> UploadTicket:
    """Issue a single-use upload target for ``filename`` in ``project_id``.

    Raises:
        NotFoundError: no such project.
        InvalidSettingError: the file name is empty.
    """
    if not filename or not filename.strip():
        raise InvalidSettingError("filename", "an upload needs a file name")
    upload_id = uuid.uuid4().hex
    token = secrets.token_urlsafe(24)
    target = store.upload_path(upload_id, sanitize_filename(filename))
    expires = _now() + timedelta(seconds=store.settings.upload_ttl_s)
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        uploads_sql.insert(
            con,
            upload_id=upload_id,
            project_id=project_id,
            token_sha256=_hash_token(token),
            original_name=filename,
            target_path=store.relative(target),
            expires_at=expires,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    return UploadTicket(upload_id, token, target, expires, filename)


def finalize_upload(store: Store, upload_id: str, token: str) -> AddedMedia:
    """Validate the uploaded bytes and register them as a media file of the ticket's project.

    The ticket is used up whatever the outcome. Rejected bytes are deleted; the project is left as
    it was.

    Raises:
        UploadError: unknown ticket, wrong token, expired, already used, or no file written.
        InvalidMediaError: the file is over the size limit or not usable media (names the file
            as the user called it, and the reason).
    """
    with store.db.write() as con:
        up = uploads_sql.get(con, upload_id)
        if up is None or not secrets.compare_digest(up.token_sha256, _hash_token(token)):
            raise UploadError(f"upload {upload_id}: unknown upload or wrong token")
        if up.status != "issued":
            raise UploadError(f"upload {upload_id}: already used ({up.status})")
        if up.expires_at < _now():
            uploads_sql.close(con, upload_id, "expired", error="expired before finalize")
            _discard(store, up.target_path)
            raise UploadError(
                f"upload {upload_id} ({up.original_name}): the upload ticket expired at "
                f"{up.expires_at:%Y-%m-%d %H:%M:%S}; start the upload again"
            )
        # Claim the ticket inside this transaction: a second finalize now sees it used.
        uploads_sql.close(con, upload_id, "finalizing")
    name = up.original_name
    target = store.inside(up.target_path, "upload target")
    try:
        if not target.is_file():
            raise UploadError(f"{name}: nothing was uploaded to the ticket's location")
        check_size(store, target, name)
        info = _probe_as(target, name)
        added = _register(store, up.project_id, target, name, info, imported=False)
    except BaseException as exc:
        with store.db.write() as con:
            uploads_sql.close(con, upload_id, "rejected", error=str(exc)[:500])
        _discard(store, up.target_path)
        raise
    with store.db.write() as con:
        uploads_sql.close(con, upload_id, "finalized", media_id=added.media.id)
    _discard(store, up.target_path)
    return added


def add_media(
    store: Store,
    project_id: int,
    paths: Sequence[str | Path],
    progress: Progress | None = None,
) -> list[AddedMedia]:
    """Add local files through the upload service (copy, validate, register).

    Every file is checked before any is added, so one bad file leaves the project unchanged.

    Raises:
        NotFoundError: no such project.
        InvalidMediaError: a file is missing, unreadable, too large or not usable media.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise InvalidSettingError("files", "no files given")
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    for i, f in enumerate(files):
        if progress:
            progress(i, len(files), f"checking {f.name}")
        if not f.exists():
            raise InvalidMediaError(f, "file does not exist")
        check_size(store, f, str(f))
        probe(f)
    added = []
    for i, f in enumerate(files):
        if progress:
            progress(i, len(files), f"adding {f.name}")
        ticket = create_upload(store, project_id, f.name)
        with atomic_path(ticket.target) as tmp:
            shutil.copyfile(f, tmp)
        added.append(finalize_upload(store, ticket.upload_id, ticket.token))
    if progress:
        progress(len(files), len(files), "done")
    return added


def importable_files(store: Store) -> list[Path]:
    """Media-looking files under the import root (relative paths), for a picker.

    Raises:
        InvalidSettingError: no import root configured, or it is not a directory.
    """
    root = _import_root(store)
    exts = {
        ".mp4",
        ".mov",
        ".mkv",
        ".webm",
        ".m4v",
        ".avi",
        ".mxf",
        ".mts",
        ".wav",
        ".mp3",
        ".m4a",
        ".aac",
        ".flac",
        ".ogg",
        ".opus",
    }
    out = [
        p.relative_to(root)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")
    ]
    return out


def import_from_folder(store: Store, project_id: int, relpaths: Sequence[str]) -> list[AddedMedia]:
    """Register files under ``GENESIS_IMPORT_DIR`` in place (no copy), for footage too large to
    upload through a browser.

    Raises:
        InvalidSettingError: no import root configured, or a path escapes it.
        InvalidMediaError: a file is not usable media.
    """
    root = _import_root(store)
    resolved = []
    for rel in relpaths:
        p = (root / rel).resolve()
        if root not in p.parents:
            raise InvalidSettingError(
                "import path", f"{rel} lies outside GENESIS_IMPORT_DIR {root}"
            )
        resolved.append((p, _probe_as(p, rel)))
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    return [_register(store, project_id, p, p.name, info, imported=True) for p, info in resolved]


def _import_root(store: Store) -> Path:
    root = store.settings.import_dir
    if root is None:
        raise InvalidSettingError("GENESIS_IMPORT_DIR", "not set; no folder to import from")
    root = root.resolve()
    if not root.is_dir():
        raise InvalidSettingError("GENESIS_IMPORT_DIR", f"{root} is not a directory")
    return root


def _probe_as(path: Path, name: str) -> MediaInfo:
    try:
        return probe(path)
    except InvalidMediaError as exc:
        raise InvalidMediaError(name, exc.reason) from None


def _register(
    store: Store, project_id: int, src: Path, name: str, info: MediaInfo, *, imported: bool
) -> AddedMedia:
    sha = sha256_file(src)
    stored_name = sanitize_filename(name)
    with store.db.read() as con:
        existing = media_sql.find_by_sha(con, project_id, sha)
    if existing is not None:
        return AddedMedia(existing, duplicate=True)
    if imported:
        final = src
    else:
        final = store.project_dir("media", project_id) / f"{sha[:12]}-{stored_name}"
        final.parent.mkdir(parents=True, exist_ok=True)
        if not final.exists():
            # The upload target lies under the same data dir: a rename moves no bytes. The
            # file is in place before any row points at it.
            os.replace(src, final)
            fsync_dir(final.parent)
    with store.db.write() as con:
        existing = media_sql.find_by_sha(con, project_id, sha)
        if existing is not None:  # another session added the same bytes meanwhile
            return AddedMedia(existing, duplicate=True)
        media = media_sql.insert(
            con,
            project_id,
            info,
            original_name=name,
            stored_name=stored_name,
            path=store.relative(final),
            sha256=sha,
            imported=imported,
        )
        projects_sql.bump_revision(con, project_id)
    log.info("project %s: added media %s (%s)", project_id, media.id, name)
    return AddedMedia(media, duplicate=False)


def _discard(store: Store, recorded: str) -> None:
    with contextlib.suppress(OSError):
        p = store.absolute(recorded)
        if p.exists():
            p.unlink()
        if p.parent.exists() and p.parent.parent == store.uploads_dir:
            p.parent.rmdir()
