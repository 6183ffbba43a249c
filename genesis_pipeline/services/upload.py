"""The upload service: tokenised, expiring upload targets, then validation into ``media_files``.

``create_upload`` issues a single-use ticket; the client puts the bytes and calls
``finalize_upload``, which verifies them (size, sha256, a probe) before they become a media file.

- Local storage: the ticket's ``target`` is a path under ``<home>/uploads/<id>/``.
- S3 storage: the ticket also carries a presigned PUT URL (or, for a file announced over
  ``GENESIS_S3_MULTIPART_MB``, a multipart upload with one presigned URL per part) that expires
  with the ticket; the bytes land at ``uploads/<id>/<name>`` in the bucket and are verified there
  (sha256 by a streamed read, the probe over range reads of a presigned GET). Bytes written to
  ``target`` on this host (the app's small uploads, ``add-media``) are verified here and uploaded.

Footage already in place is registered without a copy: from the import root
(``GENESIS_IMPORT_DIR``, :func:`import_from_folder`) or from an S3 prefix
(:func:`import_from_s3`; rows record the ``s3://`` URI).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from genesis_pipeline.errors import (
    GenesisError,
    InvalidMediaError,
    InvalidSettingError,
    StorageError,
    UploadError,
)
from genesis_pipeline.files import atomic_path, fsync_dir
from genesis_pipeline.media.probe import MediaInfo, probe, probe_url
from genesis_pipeline.progress import Progress
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.naming import sanitize_filename
from genesis_pipeline.storage import UploadPart
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import uploads as uploads_sql
from genesis_pipeline.store.records import MediaFile

log = logging.getLogger(__name__)

_CHUNK = 4 * 1024 * 1024
#: How often a copy into the storage notes its progress (seconds).
COPY_NOTE_S = 0.5


#: Media-looking file names (for the import pickers).
MEDIA_EXTENSIONS = frozenset(
    {
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
)


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """Where and until when a client may put one file.

    Attributes:
        target: a path on this host to write the bytes to (local storage; with S3 storage
            bytes written there are uploaded by ``finalize_upload``).
        url: S3 storage: a presigned PUT URL for the whole file (None for multipart).
        parts: S3 storage, a file announced over the multipart threshold: PUT each part's
            byte range to its URL (any order, in parallel), then finalize.
        key: where the bytes land in the storage (``uploads/<id>/<name>``).
        headers: S3: the headers the PUT must send (the checksum the URL was signed with).
    """

    upload_id: str
    token: str
    target: Path
    expires_at: datetime
    original_name: str
    url: str | None = None
    parts: tuple[UploadPart, ...] = ()
    key: str = ""
    headers: tuple[tuple[str, str], ...] = ()


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
    return _check_limit(store, path.stat().st_size, name)


def _check_limit(store: Store, size: int, name: str) -> int:
    limit = store.settings.max_upload_bytes
    if size > limit:
        raise InvalidMediaError(
            name,
            f"is {size / 1e6:.1f} MB, over the upload limit of {store.settings.max_upload_mb} MB "
            "(GENESIS_MAX_UPLOAD_MB); import large footage from GENESIS_IMPORT_DIR instead",
        )
    return size


def create_upload(
    store: Store,
    project_id: int,
    filename: str,
    size_bytes: int | None = None,
    sha256: str | None = None,
    part_sha256s: Sequence[str] = (),
    *,
    actor: Actor,
) -> UploadTicket:
    """Issue a single-use upload target for ``filename`` in ``project_id``.

    With S3 storage the ticket carries presigned URLs that expire with it: one PUT, or one per
    part when ``size_bytes`` (the size the client will send) is over ``GENESIS_S3_MULTIPART_MB``.
    Each URL is signed with its PUT's Content-Length when ``size_bytes`` is given, and a single
    PUT with the file's ``sha256`` (hex) as its checksum, and each part of a multipart upload
    with its own of ``part_sha256s`` (hex, in part order; ``Storage.part_size`` says how the
    file is cut), so S3 refuses other bytes; whatever the storage, ``finalize_upload`` refuses
    bytes whose size, sha256 or part checksums differ from these.

    Raises:
        NotFoundError: no such project.
        InvalidSettingError: the file name is empty, or S3 cannot be reached (names the setting).
        InvalidMediaError: ``size_bytes`` is over the upload limit.
        PermissionDeniedError: the actor may not add media.
    """
    access.require(actor, "manage", "uploads.create")
    if not filename or not filename.strip():
        raise InvalidSettingError("filename", "an upload needs a file name")
    if sha256 is not None:
        sha256 = _hex_sha256(sha256, "sha256")
    parts_sha = tuple(_hex_sha256(h, "part_sha256") for h in part_sha256s)
    if parts_sha and (size_bytes is None or not store.remote):
        raise InvalidSettingError(
            "part_sha256", "part checksums need S3 storage and the file's size (--size)"
        )
    if size_bytes is not None:
        if size_bytes < 0:
            raise InvalidSettingError("size", f"{size_bytes} is not a size in bytes")
        _check_limit(store, size_bytes, filename)
    upload_id = uuid.uuid4().hex
    # Hex, not URL-safe base64: a token starting with "-" reads as an option on a command line
    # (``genesis finalize-upload --token -x…`` failed one run in 64).
    token = secrets.token_hex(24)
    ttl = store.settings.upload_ttl_s
    expires = _now() + timedelta(seconds=ttl)
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    if store.remote:
        key = f"uploads/{upload_id}/{sanitize_filename(filename)}"
        target = store.output_path(key)
        signed = store.storage.presign_upload(key, size_bytes, ttl, sha256, parts_sha)
        recorded, url, parts, headers = key, signed.url, signed.parts, signed.headers
    else:
        target = store.upload_path(upload_id, sanitize_filename(filename))
        recorded, url, parts, headers = store.relative(target), None, (), ()
    with store.db.write() as con:
        uploads_sql.insert(
            con,
            upload_id=upload_id,
            project_id=project_id,
            token_sha256=_hash_token(token),
            original_name=filename,
            target_path=recorded,
            expires_at=expires,
            expected_size=size_bytes,
            expected_sha256=sha256,
            expected_part_sha256=parts_sha,
        )
        access.permit(
            con, actor, "manage", "uploads.create", project_id,
            {"upload_id": upload_id, "file": filename, "size_bytes": size_bytes},
        )  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    return UploadTicket(upload_id, token, target, expires, filename, url, parts, recorded, headers)


def _hex_sha256(value: str, setting: str) -> str:
    """Raises: InvalidSettingError: not 64 hex digits."""
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidSettingError(setting, f"{value!r} is not a sha256 (64 hex digits)")
    return value


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """An upload ticket for a script or a person (``genesis upload-url --json``, the app's
    direct-upload panel): where to PUT the bytes, and how to finalize.

    Attributes:
        url: a presigned PUT for the whole file (S3, single part), else None.
        parts: S3 multipart: PUT bytes ``[offset, offset + size)`` to each part's URL.
        path: local storage: the file on the app host to write the bytes to.
        commands: one-line shell commands that upload the file (``FILE`` stands for it).
        finalize: the command that verifies the upload and adds it to the project.
        headers: what the single PUT must send besides the body (its signed checksum).
    """

    upload_id: str
    token: str
    expires_at: str
    filename: str
    key: str
    url: str | None
    parts: tuple[UploadPart, ...]
    path: str | None
    commands: tuple[str, ...]
    finalize: str
    headers: dict[str, str]


def upload_target(store: Store, ticket: UploadTicket) -> UploadTarget:
    """The ticket as a document, with shell commands that upload a file to it."""
    from shlex import quote

    commands: list[str] = []
    if ticket.url is not None:
        signed = "".join(f" -H {quote(f'{k}: {v}')}" for k, v in ticket.headers)
        commands.append(f"curl --fail -X PUT{signed} -T FILE {quote(ticket.url)}")
    for part in ticket.parts:
        signed_part = "".join(f" -H {quote(f'{k}: {v}')}" for k, v in part.headers)
        commands.append(
            f"tail -c +{part.offset + 1} FILE | head -c {part.size} | "
            f"curl --fail -X PUT{signed_part} --data-binary @- {quote(part.url)}"
        )
    if store.remote:
        endpoint = store.settings.s3_endpoint_url
        where = quote(store.storage.uri(ticket.key))
        extra = f" --endpoint-url {quote(endpoint)}" if endpoint else ""
        # With the uploader's own AWS credentials instead of the presigned URL(s).
        commands.append(f"aws s3 cp FILE {where}{extra}")
    else:
        commands.append(f"cp FILE {quote(str(ticket.target))}")
    return UploadTarget(
        upload_id=ticket.upload_id,
        token=ticket.token,
        expires_at=ticket.expires_at.isoformat(timespec="seconds"),
        filename=ticket.original_name,
        key=ticket.key,
        url=ticket.url,
        parts=ticket.parts,
        path=None if store.remote else str(ticket.target),
        commands=tuple(commands),
        finalize=(f"genesis finalize-upload --upload-id {ticket.upload_id} --token {ticket.token}"),
        headers=dict(ticket.headers),
    )


def write_upload(store: Store, ticket: UploadTicket, stream: BinaryIO) -> None:
    """Write an upload's bytes from ``stream`` to its ticket's target on this host (the app's
    browser uploads), complete or not at all; ``finalize_upload`` then verifies them."""
    with atomic_path(ticket.target) as tmp, open(tmp, "wb") as out:
        shutil.copyfileobj(stream, out, _CHUNK)


def finalize_upload(store: Store, upload_id: str, token: str, *, actor: Actor) -> AddedMedia:
    """Validate the uploaded bytes and register them as a media file of the ticket's project.

    The ticket is used up whatever the outcome. Rejected bytes are deleted; the project is left as
    it was.

    Raises:
        UploadError: unknown ticket, wrong token, expired, already used, or no file written.
        InvalidMediaError: the file is over the size limit or not usable media (names the file
            as it was called, and the reason).
        PermissionDeniedError: the actor may not add media.
    """
    access.require(actor, "manage", "media.add")
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
    # A tampered target outside the data dir is refused before anything touches it.
    if store.remote and not up.target_path.startswith("uploads/"):
        raise InvalidSettingError("upload target", f"{up.target_path} is not an upload key")
    target = store.inside(
        store.output_path(up.target_path) if store.remote else up.target_path, "upload target"
    )
    expected = _Expected(up.expected_size, up.expected_sha256, up.expected_parts)
    try:
        if store.remote and not target.is_file():
            added = _finalize_object(
                store, up.project_id, up.target_path, name, expected, actor=actor
            )
        else:
            if not target.is_file():
                raise UploadError(f"{name}: nothing was uploaded to the ticket's location")
            expected.check_size(name, check_size(store, target, name))
            info = _probe_as(target, name)
            sha = expected.check_sha256(name, sha256_file(target))
            added = _register(
                store, up.project_id, name, info, sha, _moved(store, target), actor=actor
            )
    except BaseException as exc:
        with store.db.write() as con:
            uploads_sql.close(con, upload_id, "rejected", error=str(exc)[:500])
        _discard(store, up.target_path)
        raise
    with store.db.write() as con:
        uploads_sql.close(con, upload_id, "finalized", media_id=added.media.id)
    _discard(store, up.target_path)
    return added


@dataclass(frozen=True, slots=True)
class _Expected:
    """What the client announced when it asked for the ticket (each optional)."""

    size: int | None
    sha256: str | None
    part_sha256s: tuple[str, ...] = ()

    def check_size(self, name: str, size: int) -> None:
        """Raises: UploadError: another size arrived."""
        if self.size is not None and size != self.size:
            raise UploadError(
                f"{name}: {size} bytes arrived, {self.size} were announced; upload it again"
            )

    def check_sha256(self, name: str, sha: str) -> str:
        """Returns ``sha``. Raises: UploadError: other bytes arrived."""
        if self.sha256 is not None and sha != self.sha256:
            raise UploadError(
                f"{name}: the bytes that arrived have sha256 {sha[:12]}…, not the announced "
                f"{self.sha256[:12]}…; upload it again"
            )
        return sha


def _finalize_object(
    store: Store, project_id: int, key: str, name: str, expected: _Expected, *, actor: Actor
) -> AddedMedia:
    """Verify an upload that went straight to S3 and register it (copied to ``media/``
    inside S3)."""
    storage = store.storage
    try:
        # A multipart upload's parts become the object (with the announced part checksums).
        storage.complete_upload(key, expected.part_sha256s)
    except StorageError as exc:
        raise UploadError(f"{name}: the multipart upload is refused ({exc})") from None
    head = storage.head(key)
    if head is None:
        raise UploadError(f"{name}: nothing was uploaded to the ticket's location")
    _check_limit(store, head.size, name)
    if head.announced_size is not None and head.size != head.announced_size:
        raise UploadError(
            f"{name}: {head.size} bytes arrived, {head.announced_size} were announced; "
            "upload it again"
        )
    expected.check_size(name, head.size)
    info = _probe_url_as(store, key, name, head.size)
    sha = expected.check_sha256(name, _sha256_stream(store, key))

    def place(final_key: str) -> str:
        storage.copy(key, final_key)  # inside S3: no bytes through this host
        return final_key

    return _register(store, project_id, name, info, sha, place, actor=actor)


def add_media(
    store: Store,
    project_id: int,
    paths: Sequence[str | Path],
    progress: Progress | None = None,
    *,
    actor: Actor,
) -> list[AddedMedia]:
    """Add local files through the upload service (copy, validate, register).

    Every file is checked before any is added, so one bad file leaves the project unchanged.

    Raises:
        NotFoundError: no such project.
        InvalidMediaError: a file is missing, unreadable, too large or not usable media.
        PermissionDeniedError: the actor may not add media.
    """
    access.require(actor, "manage", "media.add")
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
        ticket = create_upload(store, project_id, f.name, actor=actor)
        with atomic_path(ticket.target) as tmp:
            shutil.copyfile(f, tmp)
        added.append(finalize_upload(store, ticket.upload_id, ticket.token, actor=actor))
    if progress:
        progress(len(files), len(files), "done")
    return added


def add_sources(
    store: Store,
    project_id: int,
    sources: Sequence[str | Path],
    progress: Progress | None = None,
    *,
    actor: Actor,
) -> list[AddedMedia]:
    """``genesis add-media``: local files are added through the upload service
    (:func:`add_media`); ``s3://`` URIs are registered in place (:func:`import_from_s3`).

    Raises:
        InvalidSettingError: no files given, or an s3:// URI without S3 storage.
        InvalidMediaError: a file or object is missing, too large or not usable media.
        PermissionDeniedError: the actor may not add media.
    """
    access.require(actor, "manage", "media.add")
    remote = [str(s) for s in sources if str(s).startswith("s3://")]
    local = [s for s in sources if not str(s).startswith("s3://")]
    if not remote:
        return add_media(store, project_id, local, progress, actor=actor)
    checked = _check_s3_objects(store, project_id, remote)
    added = add_media(store, project_id, local, progress, actor=actor) if local else []
    return added + [_register_s3(store, project_id, c, actor=actor) for c in checked]


def importable_files(store: Store) -> list[Path]:
    """Media-looking files under the import root (relative paths), for a picker.

    Raises:
        InvalidSettingError: no import root configured, or it is not a directory.
    """
    root = _import_root(store)
    out = [
        p.relative_to(root)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS and not p.name.startswith(".")
    ]
    return out


def import_from_folder(
    store: Store,
    project_id: int,
    relpaths: Sequence[str],
    progress: Progress | None = None,
    *,
    actor: Actor,
) -> list[AddedMedia]:
    """Register files under ``GENESIS_IMPORT_DIR`` in place (no copy), for footage too large to
    upload through a browser. Under ``GENESIS_EXECUTOR=ray`` with S3 storage the files are
    copied into the storage instead (streamed, multipart over ``GENESIS_S3_MULTIPART_MB``;
    ``progress`` notes the megabytes sent), since Ray workers on other machines cannot read
    this host's folders.

    Raises:
        InvalidSettingError: no import root configured, or a path escapes it.
        InvalidMediaError: a file is not usable media.
        StorageError: a copy into the storage failed.
        PermissionDeniedError: the actor may not add media.
    """
    access.require(actor, "manage", "media.add")
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
    copy = store.remote and store.settings.executor == "ray"
    added = []
    for i, (p, info) in enumerate(resolved):
        place = _copied(store, p, i, len(resolved), progress) if copy else _in_place(str(p))
        added.append(_register(store, project_id, p.name, info, sha256_file(p), place, actor=actor))
    if progress:
        progress(len(resolved), len(resolved), "done")
    return added


# -- import from an S3 prefix ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _CheckedObject:
    uri: str
    name: str
    info: MediaInfo
    sha256: str


def importable_objects(store: Store, prefix_uri: str) -> list[str]:
    """Media-looking objects under an ``s3://bucket/prefix`` (their URIs), for a picker.

    Raises:
        InvalidSettingError: not an s3:// URI, the storage is not S3, or S3 cannot be reached.
    """
    storage, prefix = store.s3_object(prefix_uri.rstrip("/"))
    bucket = prefix_uri[5:].split("/", 1)[0]
    return [
        f"s3://{bucket}/{o.key}"
        for o in storage.list_prefix(prefix)
        if Path(o.key).suffix.lower() in MEDIA_EXTENSIONS and not Path(o.key).name.startswith(".")
    ]


def import_from_s3(
    store: Store, project_id: int, uris: Sequence[str], *, actor: Actor
) -> list[AddedMedia]:
    """Register objects already in S3 in place (no copy; rows record their ``s3://`` URIs),
    as :func:`import_from_folder` does for host folders. Every object is checked (size, probe
    over range reads, sha256 by a streamed read) before any is registered.

    Raises:
        InvalidSettingError: the storage is not S3, or a URI is not an s3:// URI.
        InvalidMediaError: an object is missing, too large or not usable media (names it).
        PermissionDeniedError: the actor may not add media.
    """
    access.require(actor, "manage", "media.add")
    if not uris:
        raise InvalidSettingError("files", "no objects given")
    checked = _check_s3_objects(store, project_id, [str(u) for u in uris])
    return [_register_s3(store, project_id, c, actor=actor) for c in checked]


def _check_s3_objects(store: Store, project_id: int, uris: list[str]) -> list[_CheckedObject]:
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    out = []
    for uri in uris:
        storage, key = store.s3_object(uri)
        head = storage.head(key)
        if head is None:
            raise InvalidMediaError(uri, "object does not exist")
        _check_limit(store, head.size, uri)
        try:
            info = probe_url(storage.read_url(key), uri, head.size)
        except InvalidMediaError as exc:
            raise InvalidMediaError(uri, exc.reason) from None
        with storage.open_read(key) as body:
            sha = _sha256_of(body)
        out.append(_CheckedObject(uri, Path(key).name, info, sha))
    return out


def _register_s3(store: Store, project_id: int, c: _CheckedObject, *, actor: Actor) -> AddedMedia:
    return _register(store, project_id, c.name, c.info, c.sha256, _in_place(c.uri), actor=actor)


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


def _probe_url_as(store: Store, key: str, name: str, size: int) -> MediaInfo:
    try:
        return probe_url(store.storage.read_url(key), store.storage.uri(key), size)
    except InvalidMediaError as exc:
        raise InvalidMediaError(name, exc.reason) from None


def _sha256_of(stream: BinaryIO) -> str:
    h = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        h.update(chunk)
    return h.hexdigest()


def _sha256_stream(store: Store, key: str) -> str:
    with store.storage.open_read(key) as body:
        return _sha256_of(body)


#: Puts a new media file's bytes in place under the key it is given; returns what the row
#: records (registered in place: the file's own path or URI, see :func:`_in_place`).
Placer = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class _InPlace:
    """Registered where it is (host-folder and S3 imports): the row records ``recorded``."""

    recorded: str

    def __call__(self, final_key: str) -> str:
        return self.recorded


def _in_place(recorded: str) -> Placer:
    return _InPlace(recorded)


def _copied(store: Store, src: Path, index: int, count: int, progress: Progress | None) -> Placer:
    """Copy a file of a host folder into the storage under its media key (streamed from the
    file; multipart when large), leaving the original where it is."""

    def place(final_key: str) -> str:
        if not store.exists(final_key):
            store.storage.put_file(
                src, final_key, on_bytes=_bytes_noted(src, index, count, progress)
            )
        return final_key

    return place


def _bytes_noted(
    src: Path, index: int, count: int, progress: Progress | None
) -> Callable[[int], None] | None:
    """An ``on_bytes`` for a copy of ``src`` that notes "copying a.mp4: 120 of 800 MB" to
    ``progress`` at the start and then at most every :data:`COPY_NOTE_S` seconds, and at the
    end (the transfer manager calls from several threads at once)."""
    if progress is None:
        return None
    size = src.stat().st_size
    sent, last = 0, 0.0
    lock = threading.Lock()
    digits = 1 if size < 10e6 else 0  # "0.4 of 0.9 MB", "120 of 800 MB"

    def note() -> None:
        done, whole = f"{sent / 1e6:.{digits}f}", f"{size / 1e6:.{digits}f}"
        progress(index, count, f"copying {src.name}: {done} of {whole} MB")

    def on_bytes(n: int) -> None:
        nonlocal sent, last
        with lock:
            sent += n
            now = time.monotonic()
            if now - last >= COPY_NOTE_S or sent >= size:
                last = now
                note()

    note()
    return on_bytes


def _moved(store: Store, src: Path) -> Placer:
    """Move an upload's bytes on this host to their media key (local storage: a rename inside
    the data dir; S3: uploaded, then kept as the cached copy)."""

    def place(final_key: str) -> str:
        if store.remote:
            if not store.exists(final_key):
                store.publish(src, final_key)
            return final_key
        final = store.home / final_key
        final.parent.mkdir(parents=True, exist_ok=True)
        if not final.exists():
            # The upload target lies under the same data dir: a rename moves no bytes. The
            # file is in place before any row points at it.
            os.replace(src, final)
            fsync_dir(final.parent)
        return store.relative(final)

    return place


def _register(
    store: Store,
    project_id: int,
    name: str,
    info: MediaInfo,
    sha: str,
    place: Placer,
    *,
    actor: Actor,
) -> AddedMedia:
    stored_name = sanitize_filename(name)
    with store.db.read() as con:
        existing = media_sql.find_by_sha(con, project_id, sha)
    if existing is not None:
        return AddedMedia(existing, duplicate=True)
    imported = isinstance(place, _InPlace)
    # The bytes are in place before any row points at them.
    recorded = place(store.project_key("media", project_id, f"{sha[:12]}-{stored_name}"))
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
            path=recorded,
            sha256=sha,
            imported=imported,
        )
        access.permit(
            con, actor, "manage", "media.add", project_id,
            {"media_id": media.id, "name": name, "in_place": imported},
        )  # fmt: skip
        projects_sql.bump_revision(con, project_id)
    log.info("project %s: added media %s (%s)", project_id, media.id, name)
    return AddedMedia(media, duplicate=False)


def _discard(store: Store, recorded: str) -> None:
    """Remove what an upload left: the bytes on this host, and with S3 the upload object and
    any unfinished multipart upload (never a media file: uploads live under ``uploads/``)."""
    if store.remote:
        if recorded.startswith("uploads/"):
            with contextlib.suppress(GenesisError):
                store.storage.abort_uploads(recorded)
                store.storage.delete(recorded)
            local = store.output_path(recorded)
            with contextlib.suppress(OSError):
                local.unlink(missing_ok=True)
                local.parent.rmdir()
        return
    with contextlib.suppress(OSError):
        p = store.absolute(recorded)
        if p.exists():
            p.unlink()
        if p.parent.exists() and p.parent.parent == store.uploads_dir:
            p.parent.rmdir()
