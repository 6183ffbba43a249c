"""Receive an upload's bytes as a stream (the HTTP API's local upload target), a streamed file
for a service that takes a path (a voiceover), and the uploads a project refused.

The bytes go to the ticket's target through :func:`files.atomic_path` chunk by chunk, never whole
in memory; the size limit (``GENESIS_MAX_UPLOAD_MB``) is checked against the announced length
before anything is read and again as bytes arrive. ``finalize_upload`` then verifies the file.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from genesis_pipeline.errors import PayloadTooLargeError, UploadError
from genesis_pipeline.files import atomic_path
from genesis_pipeline.services.access import token_sha256
from genesis_pipeline.services.naming import sanitize_filename
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import uploads as uploads_sql
from genesis_pipeline.store.records import ReadModel, UploadRecord


@dataclass(frozen=True, slots=True)
class RejectedUpload(ReadModel):
    upload_id: str
    original_name: str
    created_at: datetime
    used_at: datetime | None
    reason: str


def check_length(store: Store, length: int | None, name: str) -> int:
    """The announced body length, checked against the upload limit before any byte is read.

    Raises:
        PayloadTooLargeError: no length given, or over ``GENESIS_MAX_UPLOAD_MB``.
    """
    if length is None or length < 0:
        raise PayloadTooLargeError("Content-Length", f"{name}: send the file's length in bytes")
    limit = store.settings.max_upload_bytes
    if length > limit:
        raise PayloadTooLargeError(
            "GENESIS_MAX_UPLOAD_MB",
            f"{name} is {length / 1e6:.1f} MB, over the upload limit of "
            f"{store.settings.max_upload_mb} MB",
        )
    return length


def open_ticket(store: Store, upload_id: str, token: str) -> UploadRecord:
    """The upload ticket if it may still receive bytes.

    Raises:
        UploadError: unknown ticket or wrong token, already used, or expired.
    """
    with store.db.read() as con:
        up = uploads_sql.get(con, upload_id)
    if up is None or not secrets.compare_digest(up.token_sha256, token_sha256(token or "")):
        raise UploadError(f"upload {upload_id}: unknown upload or wrong token")
    if up.status != "issued":
        raise UploadError(f"upload {upload_id}: already used ({up.status})")
    if up.expires_at < datetime.now():
        raise UploadError(f"upload {upload_id}: the ticket expired; start the upload again")
    return up


class StreamSink:
    """Where a streamed body's bytes are written as they arrive; counts them against the
    announced length (already checked against the limit)."""

    def __init__(self, name: str, length: int, out: BinaryIO) -> None:
        self.name, self.length, self.out = name, length, out
        self.received = 0

    def write(self, chunk: bytes) -> None:
        """Raises: PayloadTooLargeError: more bytes than announced (or than the limit)."""
        self.received += len(chunk)
        if self.received > self.length:
            raise PayloadTooLargeError("Content-Length", f"{self.name}: more bytes than announced")
        self.out.write(chunk)

    def check_complete(self) -> None:
        """Raises: UploadError: fewer bytes arrived than announced."""
        if self.received != self.length:
            raise UploadError(
                f"{self.name}: {self.received} of {self.length} bytes arrived; send it again"
            )


class UploadSink(StreamSink):
    """Where a ticket's bytes are written as they arrive."""

    def __init__(self, store: Store, up: UploadRecord, length: int, out: BinaryIO) -> None:
        super().__init__(up.original_name, length, out)
        self.store, self.up = store, up


class FileSink(StreamSink):
    """A streamed body written to a private temporary file, ``path``."""

    def __init__(self, name: str, length: int, out: BinaryIO, path: Path) -> None:
        super().__init__(name, length, out)
        self.path = path

    def complete(self) -> Path:
        """The file, once every announced byte arrived (closed and flushed).

        Raises:
            UploadError: fewer bytes arrived than announced.
        """
        self.check_complete()
        self.out.close()
        return self.path


@contextlib.contextmanager
def receive_upload(
    store: Store, upload_id: str, token: str, length: int | None
) -> Iterator[UploadSink]:
    """Write an upload's bytes chunk by chunk; the target appears only when all arrived.

    Raises:
        UploadError: see :func:`open_ticket`; fewer bytes arrived than announced.
        PayloadTooLargeError: see :func:`check_length` and :meth:`UploadSink.write`.
    """
    up = open_ticket(store, upload_id, token)
    checked = check_length(store, length, up.original_name)
    if store.remote and up.target_path.startswith("uploads/"):
        target = store.output_path(up.target_path)
    else:
        target = store.inside(up.target_path, "upload target")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        sink = UploadSink(store, up, checked, out)
        yield sink
        sink.check_complete()


@contextlib.contextmanager
def receive_file(store: Store, name: str, length: int | None) -> Iterator[FileSink]:
    """Receive a streamed file for a service that reads a path (a voiceover): the length is
    checked against ``GENESIS_MAX_UPLOAD_MB`` before any byte is read, the bytes go chunk by
    chunk to a temporary file (named like ``name``, for its extension) that is removed on
    leaving; :meth:`FileSink.complete` gives its path once every byte arrived.

    Raises:
        PayloadTooLargeError: see :func:`check_length` and :meth:`StreamSink.write`.
    """
    checked = check_length(store, length, name)
    with tempfile.TemporaryDirectory(prefix="genesis-receive-") as tmp:
        path = Path(tmp) / sanitize_filename(name, "upload")
        with open(path, "wb") as out:
            yield FileSink(name, checked, out, path)


def rejected_uploads(store: Store, project_id: int) -> list[RejectedUpload]:
    """The project's uploads whose finalize refused the file, newest first, with the reason.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        rows = uploads_sql.rejected_for_project(con, project_id)
    return [
        RejectedUpload(u.id, u.original_name, u.created_at, u.used_at, u.error or "") for u in rows
    ]
