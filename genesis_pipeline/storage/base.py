"""The storage interface: where footage and artifacts live, by key.

A *key* is the relative path a row records (``media/3/clip.mp4``, ``scene_previews/…``,
``renders/…``, ``cache/<stage>/<key>/…``): the same string names a file under the data dir
(local storage) and an object under ``s3://bucket/prefix/`` (S3 storage), so data dirs recorded
before S3 existed stay valid. Readers get a local path (``get_path``); writers fill a local path
and publish it (``writing``), and an object is visible only when complete.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

#: Object metadata carrying the size a client announced for a multipart upload.
ANNOUNCED_SIZE = "genesis-size"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object: its key, size and version tag (an S3 ETag, a file's mtime locally),
    and for an object a multipart upload made, the size its client announced."""

    key: str
    size: int
    etag: str
    announced_size: int | None = None


@dataclass(frozen=True, slots=True)
class UploadPart:
    """One part of a presigned multipart upload: PUT bytes ``[offset, offset + size)`` of the
    file to ``url`` with ``headers`` (the part's signed ``x-amz-checksum-sha256``, when the
    client announced the parts' sha256s)."""

    number: int
    offset: int
    size: int
    url: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    """Where a client PUTs one file: one URL, or one URL per part (``multipart_id`` set).

    Attributes:
        headers: what every PUT must carry besides its body (the checksum a single PUT was
            signed with); the URLs are signed with each PUT's Content-Length when the size was
            announced, so S3 refuses a body of another size or checksum.
    """

    key: str
    url: str | None
    multipart_id: str | None = None
    parts: tuple[UploadPart, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


@runtime_checkable
class Storage(Protocol):
    """Footage and artifacts by key. Two implementations: ``LocalStorage`` (the data dir, the
    default) and ``S3Storage`` (``GENESIS_STORAGE=s3://bucket/prefix``)."""

    #: ``"local"`` or ``"s3"``.
    kind: str

    def describe(self) -> str:
        """Where the bytes live, for ``genesis config`` and messages."""
        ...

    def uri(self, key: str) -> str:
        """The object's full name for people (a path, or ``s3://bucket/prefix/key``)."""
        ...

    def check(self) -> None:
        """Fail fast when the storage cannot be used (unreachable, wrong credentials).

        Raises:
            InvalidSettingError: names the setting to fix.
        """
        ...

    # -- reading ---------------------------------------------------------------------------------
    def head(self, key: str) -> ObjectInfo | None:
        """The object's size and version, or None when it does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix/`` (``prefix`` a folder-like key)."""
        ...

    def local_path(self, key: str) -> Path:
        """Where the object's bytes are (or will be, once fetched) on this host; no I/O."""
        ...

    def key_of(self, path: Path) -> str | None:
        """The key whose bytes ``path`` holds (the inverse of ``local_path``), or None."""
        ...

    def get_path(self, key: str) -> Path:
        """A local file with the object's bytes (local storage: the file itself; S3: a copy in
        the read-through cache, fetched when missing or stale).

        Raises:
            ObjectMissingError: the object does not exist (names it).
        """
        ...

    def get_dir(self, prefix: str) -> Path:
        """A local folder holding every object under ``prefix/``."""
        ...

    def open_read(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A stream of the object's bytes (for hashing without a local copy).

        Raises:
            ObjectMissingError: the object does not exist.
        """
        ...

    def read_url(self, key: str) -> str:
        """What PyAV/ffmpeg can open to read the object with range reads: a local path, or a
        presigned GET URL."""
        ...

    # -- writing ---------------------------------------------------------------------------------
    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """Yield a local path to write ``key``'s bytes to; on success the object is published
        complete (local: renamed into place; S3: uploaded, multipart when large). On error
        nothing is published."""
        ...

    def writing_dir(self, prefix: str, marker: str) -> contextlib.AbstractContextManager[Path]:
        """Yield a local folder whose files become the objects under ``prefix/`` on success;
        ``marker`` (a file name in it) is published last, so its presence means the whole
        folder is there."""
        ...

    def put_file(
        self,
        src: Path,
        key: str,
        *,
        move: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> ObjectInfo:
        """Publish a local file under ``key`` (atomically); ``move`` may consume ``src``.
        ``on_bytes`` is called as bytes go out, with how many went since its last call."""
        ...

    def put_stream(self, stream: BinaryIO, key: str) -> ObjectInfo:
        """Publish the bytes read from ``stream`` under ``key`` (atomically)."""
        ...

    def copy(self, src_key: str, dst_key: str) -> None:
        """Copy an object inside the storage (no bytes through this host on S3).

        Raises:
            ObjectMissingError: the source does not exist.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove the object (no error when it is already gone)."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix/``; returns how many."""
        ...

    # -- presigned uploads (S3 only) -------------------------------------------------------------
    def presign_upload(
        self,
        key: str,
        size_bytes: int | None,
        expires_s: int,
        sha256: str | None = None,
        part_sha256s: Sequence[str] = (),
    ) -> PresignedUpload:
        """A presigned PUT for ``key`` (multipart with one URL per part over the threshold),
        signed with the Content-Length of each PUT when ``size_bytes`` is given; a single PUT
        with the file's ``sha256`` (hex), each part with its own of ``part_sha256s`` (hex, in
        part order, :meth:`part_size` long each), as their ``x-amz-checksum-sha256``.

        Raises:
            StorageError: the storage has no presigned URLs (local storage).
            InvalidSettingError: ``part_sha256s`` for an upload of another number of parts.
        """
        ...

    def part_size(self, size_bytes: int) -> int | None:
        """The part size a presigned upload of ``size_bytes`` is cut into (the last part
        shorter), or None when it goes in one PUT."""
        ...

    def complete_upload(self, key: str, part_sha256s: Sequence[str] = ()) -> bool:
        """Join the parts a client PUT for ``key`` into the object, when a multipart upload of
        it is pending (found in the storage); returns whether one was. With ``part_sha256s``
        (announced when it was presigned) the joined object's parts must have those checksums.

        Raises:
            StorageError: no part arrived, the parts could not be joined, or a part's bytes
                are not the announced ones.
        """
        ...

    def abort_uploads(self, key: str) -> None:
        """Drop pending multipart uploads of ``key`` and their parts."""
        ...

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """While held, local copies handed out are not evicted from the read-through cache
        (a step's inputs stay on disk until it is done)."""
        ...


def join_key(*parts: str | int) -> str:
    """``a/b/c`` from parts, without empty or duplicate separators."""
    return "/".join(str(p).strip("/") for p in parts if str(p).strip("/"))


@contextlib.contextmanager
def nothing_held() -> Iterator[None]:
    yield
