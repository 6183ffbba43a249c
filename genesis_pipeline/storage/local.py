"""Local storage: keys are files under the data dir, exactly the layout Genesis always had.

Nothing is copied to read (``get_path`` is the file itself); writes go to a temporary name
beside the target and are renamed into place (``files.atomic_path`` / ``atomic_dir``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from genesis_pipeline.errors import ObjectMissingError, StorageError
from genesis_pipeline.files import TMP_PREFIX, atomic_dir, atomic_path
from genesis_pipeline.storage.base import ObjectInfo, PresignedUpload, nothing_held

_CHUNK = 8 * 1024 * 1024


class LocalStorage:
    """Files under ``root`` (the data dir)."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def describe(self) -> str:
        return f"the data dir {self.root}"

    def uri(self, key: str) -> str:
        return str(self.root / key)

    def check(self) -> None:
        """Local storage needs nothing checked: the data dir is created on first write."""

    # -- reading ---------------------------------------------------------------------------------
    def head(self, key: str) -> ObjectInfo | None:
        try:
            st = (self.root / key).stat()
        except OSError:
            return None
        if not (self.root / key).is_file():
            return None
        return ObjectInfo(key, st.st_size, str(st.st_mtime_ns))

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        out = []
        for dirpath, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith(TMP_PREFIX))
            for name in sorted(files):
                if name.startswith(TMP_PREFIX):
                    continue
                p = Path(dirpath) / name
                with contextlib.suppress(OSError):
                    st = p.stat()
                    key = p.relative_to(self.root).as_posix()
                    out.append(ObjectInfo(key, st.st_size, str(st.st_mtime_ns)))
        return sorted(out, key=lambda o: o.key)  # as S3 lists: by key

    def local_path(self, key: str) -> Path:
        return self.root / key

    def key_of(self, path: Path) -> str | None:
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def get_path(self, key: str) -> Path:
        p = self.root / key
        if not p.is_file():
            raise ObjectMissingError(str(p))
        return p

    def get_dir(self, prefix: str) -> Path:
        return self.root / prefix

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        path = self.root / key
        if not path.is_file():
            raise ObjectMissingError(self.uri(key))
        with open(path, "rb") as fh:
            yield fh

    def read_url(self, key: str) -> str:
        return str(self.get_path(key))

    # -- writing ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        with atomic_path(self.root / key) as tmp:
            yield tmp

    @contextlib.contextmanager
    def writing_dir(self, prefix: str, marker: str) -> Iterator[Path]:
        # The folder is renamed into place whole: the marker is there exactly when the rest is.
        with atomic_dir(self.root / prefix) as tmp:
            yield tmp

    def put_file(
        self,
        src: Path,
        key: str,
        *,
        move: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> ObjectInfo:
        final = self.root / key
        if Path(src).resolve() != final.resolve():
            with atomic_path(final) as tmp:
                if move:
                    try:
                        os.replace(src, tmp)
                    except OSError:  # another filesystem
                        shutil.copyfile(src, tmp)
                else:
                    shutil.copyfile(src, tmp)
        info = self._info(key)
        if on_bytes:  # one local copy: reported once it is done
            on_bytes(info.size)
        return info

    def put_stream(self, stream: BinaryIO, key: str) -> ObjectInfo:
        with atomic_path(self.root / key) as tmp, open(tmp, "wb") as out:
            shutil.copyfileobj(stream, out, _CHUNK)
        return self._info(key)

    def copy(self, src_key: str, dst_key: str) -> None:
        src = self.get_path(src_key)
        with atomic_path(self.root / dst_key) as tmp:
            try:
                os.link(src, tmp)
            except OSError:  # another filesystem: copy
                shutil.copyfile(src, tmp)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / key).unlink()

    def delete_prefix(self, prefix: str) -> int:
        base = self.root / prefix
        n = len(self.list_prefix(prefix))
        shutil.rmtree(base, ignore_errors=True)
        return n

    def presign_upload(
        self,
        key: str,
        size_bytes: int | None,
        expires_s: int,
        sha256: str | None = None,
        part_sha256s: Sequence[str] = (),
    ) -> PresignedUpload:
        raise StorageError(
            "presigned upload URLs need S3 storage (GENESIS_STORAGE=s3://bucket/prefix); "
            "with local storage write to the upload ticket's path"
        )

    def part_size(self, size_bytes: int) -> int | None:
        """Uploads to local storage are written whole."""
        return None

    def complete_upload(self, key: str, part_sha256s: Sequence[str] = ()) -> bool:
        """Local storage has no multipart uploads: nothing is pending."""
        return False

    def abort_uploads(self, key: str) -> None:
        """Nothing to abort: local storage has no multipart uploads."""

    def hold(self) -> contextlib.AbstractContextManager[None]:
        return nothing_held()

    def _info(self, key: str) -> ObjectInfo:
        info = self.head(key)
        if info is None:
            raise ObjectMissingError(self.uri(key), "vanished right after it was written")
        return info
