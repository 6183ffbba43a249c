"""S3 storage (``GENESIS_STORAGE=s3://bucket/prefix``): any S3 API through boto3.

Keys live under ``prefix/`` in the bucket. ``GENESIS_S3_ENDPOINT_URL`` points at MinIO, Ceph,
R2 or a test server; credentials come from the standard AWS chain (environment, profile,
instance role). boto3 is imported only here, only when S3 storage is configured.

Reads go through a :class:`ReadThroughCache` (a local copy per object version, size-limited);
writes upload a finished local file (boto3's transfer manager: multipart over the threshold,
aborted on failure), so an object is visible only when complete. Connections time out within
seconds and retry little: a wrong endpoint or wrong credentials fail the first operation with
one line naming the setting (the first operation checks the bucket).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import math
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from genesis_pipeline.errors import InvalidSettingError, ObjectMissingError, StorageError
from genesis_pipeline.files import TMP_PREFIX
from genesis_pipeline.storage.base import ANNOUNCED_SIZE, ObjectInfo, PresignedUpload, UploadPart
from genesis_pipeline.storage.cache import ReadThroughCache

if TYPE_CHECKING:
    from botocore.client import BaseClient

log = logging.getLogger(__name__)

#: Why these timeouts: a wrong endpoint or a dead network must fail in seconds, not after
#: botocore's default 60 s reads times 5 attempts; a live S3 answers a request's first byte in
#: well under a second.
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 20.0
MAX_ATTEMPTS = 3
#: The first-use check waits less: it decides whether the storage is usable at all.
CHECK_READ_TIMEOUT_S = 3.0
#: Objects fetched or uploaded at once (S3 serves many requests in parallel).
PARALLEL = 8
#: S3 allows at most this many parts per multipart upload.
MAX_PARTS = 10_000

CREDENTIALS = "AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
STORAGE = "GENESIS_STORAGE"
ENDPOINT = "GENESIS_S3_ENDPOINT_URL"


def parse_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")``.

    Raises:
        InvalidSettingError: not an s3:// URI with a bucket.
    """
    if not uri.startswith("s3://"):
        raise InvalidSettingError("s3 URI", f"{uri!r} does not start with s3://")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise InvalidSettingError("s3 URI", f"{uri!r} names no bucket")
    return bucket, key.strip("/")


def composite_sha256(part_sha256s: Sequence[str]) -> str:
    """S3's checksum of an object joined from parts with these sha256s (hex): base64 of the
    sha256 of their digests, then ``-<number of parts>``.

    Raises:
        InvalidSettingError: a sha256 is not 64 hex digits.
    """
    digests = b"".join(base64.b64decode(checksum_sha256(h)) for h in part_sha256s)
    whole = base64.b64encode(hashlib.sha256(digests).digest()).decode()
    return f"{whole}-{len(part_sha256s)}"


def checksum_sha256(hex_digest: str) -> str:
    """S3's form of a sha256 (``x-amz-checksum-sha256``: base64 of the digest) from its hex.

    Raises:
        InvalidSettingError: not 64 hex digits.
    """
    try:
        digest = bytes.fromhex(hex_digest)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise InvalidSettingError("sha256", f"{hex_digest!r} is not a sha256 (64 hex digits)")
    return base64.b64encode(digest).decode()


class S3Storage:
    """Objects under ``s3://bucket/prefix/``, read through a local cache."""

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        cache: ReadThroughCache,
        staging: Path,
        endpoint_url: str = "",
        multipart_bytes: int = 64 * 1024 * 1024,
        presign_ttl_s: int = 3600,
        shared: _Connection | None = None,
        cache_namespace: str = "",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache = cache
        self.staging = Path(staging)
        self.multipart_bytes = multipart_bytes
        self.presign_ttl_s = presign_ttl_s
        self._conn = shared or _Connection(endpoint_url, multipart_bytes)
        # Copies of another bucket's objects are cached under "<namespace>/<key>".
        self._ns = cache_namespace

    # -- names ---------------------------------------------------------------------------------
    def describe(self) -> str:
        where = self._conn.endpoint_url or "AWS"
        return f"s3://{self.bucket}/{self.prefix} ({where})".replace("/ (", " (")

    def _k(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _unk(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._k(key)}"

    def other_bucket(self, bucket: str) -> S3Storage:
        """The same connection and cache on another bucket, no prefix (objects a project
        registered in place from ``s3://other-bucket/…``)."""
        if bucket == self.bucket and not self.prefix:
            return self
        return S3Storage(
            bucket,
            "",
            cache=self.cache,
            staging=self.staging,
            multipart_bytes=self.multipart_bytes,
            presign_ttl_s=self.presign_ttl_s,
            shared=self._conn,
            cache_namespace=f"s3:{bucket}",
        )

    def resolve(self, uri: str) -> tuple[S3Storage, str]:
        """The storage and key of an ``s3://`` URI: this storage's own objects by their key,
        another bucket's (or outside the prefix) through :meth:`other_bucket`.

        Raises:
            InvalidSettingError: not an s3:// URI with a bucket.
        """
        bucket, key = parse_uri(uri)
        if bucket == self.bucket and self.prefix and key.startswith(self.prefix + "/"):
            return self, key[len(self.prefix) + 1 :]
        return self.other_bucket(bucket), key

    def _ck(self, key: str) -> str:
        """The key's name in the read-through cache."""
        return f"{self._ns}/{key}" if self._ns else key

    # -- the connection ------------------------------------------------------------------------
    @property
    def client(self) -> BaseClient:
        """The boto3 client, made (and the bucket checked) on first use."""
        return self._conn.client_for(self.bucket)

    def check(self) -> None:
        self._conn.check(self.bucket)

    def _fail(self, exc: Exception, key: str | None = None) -> Exception:
        return _translate(exc, self.bucket, self.uri(key) if key is not None else None)

    # -- reading -------------------------------------------------------------------------------
    def head(self, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:
            err = self._fail(exc, key)
            if isinstance(err, ObjectMissingError):
                return None
            raise err from None
        announced = str((r.get("Metadata") or {}).get(ANNOUNCED_SIZE) or "")
        return ObjectInfo(
            key,
            int(r["ContentLength"]),
            str(r["ETag"]),
            int(announced) if announced.isdigit() else None,
        )

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        full = self._k(prefix.strip("/")) + "/" if prefix.strip("/") else self._k("")
        out = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            )
            for page in pages:
                for o in page.get("Contents", []):
                    out.append(ObjectInfo(self._unk(o["Key"]), int(o["Size"]), str(o["ETag"])))
        except Exception as exc:
            raise self._fail(exc) from None
        return out

    def local_path(self, key: str) -> Path:
        return self.cache.path(self._ck(key))

    def key_of(self, path: Path) -> str | None:
        """The key of a cached copy; for a copy of another bucket's object (cached under
        ``s3:<bucket>/``), its ``s3://`` URI."""
        full = self.cache.key_of(path)
        if full is None:
            return None
        if self._ns:
            return full[len(self._ns) + 1 :] if full.startswith(self._ns + "/") else None
        if full.startswith("s3:"):
            return "s3://" + full[3:]
        return full

    def get_path(self, key: str) -> Path:
        info = self.head(key)
        if info is None:
            raise ObjectMissingError(self.uri(key))
        return self._fetch(info)

    def get_dir(self, prefix: str) -> Path:
        objs = [o for o in self.list_prefix(prefix) if not Path(o.key).name.startswith(TMP_PREFIX)]
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(self._fetch, objs))
        local = self.local_path(prefix)
        # The folder shows exactly the objects there are: drop copies of deleted ones.
        listed = {self.local_path(o.key) for o in objs}
        if local.is_dir():
            for p in local.rglob("*"):
                if p.is_file() and p not in listed and not p.name.startswith(TMP_PREFIX):
                    key = self.key_of(p)
                    if key is not None and not key.startswith("s3://"):
                        self.cache.discard(self._ck(key))
        return local

    def _fetch(self, info: ObjectInfo) -> Path:
        hit = self.cache.lookup(self._ck(info.key), info.etag)
        if hit is not None:
            return hit
        with self.cache.filling(self._ck(info.key), info.etag) as tmp:
            try:
                self.client.download_file(
                    self.bucket, self._k(info.key), str(tmp), Config=self._conn.transfer
                )
            except Exception as exc:
                raise self._fail(exc, info.key) from None
            got = tmp.stat().st_size
            if got != info.size:
                raise StorageError(
                    f"{self.uri(info.key)}: changed while it was read ({got} of {info.size} "
                    "bytes); try again"
                )
        return self.local_path(info.key)

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:
            raise self._fail(exc, key) from None
        body = r["Body"]
        try:
            yield body
        finally:
            body.close()

    def read_url(self, key: str) -> str:
        return self.presign_get(key)

    def presign_get(self, key: str, expires_s: int | None = None) -> str:
        """A URL anyone holding it can GET (range reads included) until it expires."""
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._k(key)},
                ExpiresIn=int(expires_s or self.presign_ttl_s),
            )
        )

    # -- writing -------------------------------------------------------------------------------
    def _staging_dir(self) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}p{_pid()}-", dir=self.staging))

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        tmpdir = self._staging_dir()
        try:
            path = tmpdir / Path(key).name
            yield path
            self.put_file(path, key, move=True)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    @contextlib.contextmanager
    def writing_dir(self, prefix: str, marker: str) -> Iterator[Path]:
        tmpdir = self._staging_dir()
        try:
            yield tmpdir
            files = sorted(p for p in tmpdir.rglob("*") if p.is_file())
            first = [p for p in files if p != tmpdir / marker]
            with ThreadPoolExecutor(PARALLEL) as pool:
                list(
                    pool.map(
                        lambda p: self.put_file(
                            p, f"{prefix}/{p.relative_to(tmpdir).as_posix()}", move=True
                        ),
                        first,
                    )
                )
            # The marker last: an entry is complete exactly when its marker exists.
            if (tmpdir / marker).is_file():
                self.put_file(tmpdir / marker, f"{prefix}/{marker}", move=True)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def put_file(
        self,
        src: Path,
        key: str,
        *,
        move: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> ObjectInfo:
        size = Path(src).stat().st_size
        try:
            if size <= self.multipart_bytes:
                # One request; S3 stores an object only once all of its bytes arrived.
                with open(src, "rb") as body:
                    r = self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=body)
                info = ObjectInfo(key, size, str(r["ETag"]))
                if on_bytes:
                    on_bytes(size)
            else:  # the transfer manager: parts in parallel, the upload aborted on failure
                self.client.upload_file(
                    str(src), self.bucket, self._k(key), Config=self._conn.transfer,
                    Callback=on_bytes,
                )  # fmt: skip
                head = self.head(key)
                if head is None:
                    raise ObjectMissingError(self.uri(key), "vanished right after it was uploaded")
                info = head
        except Exception as exc:
            raise self._fail(exc, key) from None
        if move:  # the bytes are here already: keep them as the cached copy
            self.cache.adopt(src, self._ck(key), info.etag, move=True)
        return info

    def put_stream(self, stream: BinaryIO, key: str) -> ObjectInfo:
        try:
            self.client.upload_fileobj(
                stream, self.bucket, self._k(key), Config=self._conn.transfer
            )
        except Exception as exc:
            raise self._fail(exc, key) from None
        info = self.head(key)
        if info is None:
            raise ObjectMissingError(self.uri(key), "vanished right after it was uploaded")
        return info

    def copy(self, src_key: str, dst_key: str) -> None:
        self.copy_from(self.bucket, self._k(src_key), dst_key)

    def copy_from(self, bucket: str, full_key: str, dst_key: str) -> None:
        """Copy ``s3://bucket/full_key`` to ``dst_key`` inside S3: one request up to S3's 5 GB
        copy limit, a multipart copy beyond it."""
        source = {"Bucket": bucket, "Key": full_key}
        try:
            try:
                r = self.client.copy_object(
                    CopySource=source, Bucket=self.bucket, Key=self._k(dst_key)
                )
                etag = str(r["CopyObjectResult"]["ETag"])
            except Exception as exc:
                if "InvalidRequest" not in str(exc) and "EntityTooLarge" not in str(exc):
                    raise
                self.client.copy(source, self.bucket, self._k(dst_key), Config=self._conn.transfer)
                etag = ""
        except Exception as exc:
            raise _translate(exc, bucket, f"s3://{bucket}/{full_key}") from None
        if bucket == self.bucket and etag:
            # A single-request copy keeps the ETag: a cached source is the copy's cached copy.
            src = self.cache.lookup(self._ck(self._unk(full_key)), etag)
            if src is not None:
                self.cache.adopt(src, self._ck(dst_key), etag, move=False)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:
            err = self._fail(exc, key)
            if not isinstance(err, ObjectMissingError):
                raise err from None
        self.cache.discard(self._ck(key))

    def delete_prefix(self, prefix: str) -> int:
        objs = self.list_prefix(prefix)
        for i in range(0, len(objs), 1000):
            batch = objs[i : i + 1000]
            try:
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self._k(o.key)} for o in batch], "Quiet": True},
                )
            except Exception as exc:
                raise self._fail(exc) from None
        for o in objs:
            self.cache.discard(self._ck(o.key))
        return len(objs)

    # -- presigned uploads ---------------------------------------------------------------------
    def part_size(self, size_bytes: int) -> int | None:
        if size_bytes <= self.multipart_bytes:
            return None
        return max(self.multipart_bytes, math.ceil(size_bytes / MAX_PARTS))

    def presign_upload(
        self,
        key: str,
        size_bytes: int | None,
        expires_s: int,
        sha256: str | None = None,
        part_sha256s: Sequence[str] = (),
    ) -> PresignedUpload:
        full = self._k(key)
        part = None if size_bytes is None else self.part_size(size_bytes)
        if size_bytes is None or part is None:
            if part_sha256s:
                raise InvalidSettingError(
                    "part_sha256",
                    "part checksums need a multipart upload (a size over "
                    f"GENESIS_S3_MULTIPART_MB={self.multipart_bytes // (1024 * 1024)})",
                )
            # Signed headers: S3 refuses a PUT whose Content-Length or body checksum differs.
            params: dict[str, Any] = {"Bucket": self.bucket, "Key": full}
            headers: tuple[tuple[str, str], ...] = ()
            if size_bytes is not None:
                params["ContentLength"] = size_bytes
            if sha256 is not None:
                params["ChecksumSHA256"] = checksum_sha256(sha256)
                headers = (("x-amz-checksum-sha256", params["ChecksumSHA256"]),)
            url = self.client.generate_presigned_url(
                "put_object", Params=params, ExpiresIn=expires_s
            )
            return PresignedUpload(key, str(url), headers=headers)
        offsets = range(0, size_bytes, part)
        if part_sha256s and len(part_sha256s) != len(offsets):
            raise InvalidSettingError(
                "part_sha256",
                f"{len(part_sha256s)} part checksums given; {size_bytes} bytes go up in "
                f"{len(offsets)} parts of {part} bytes (the last shorter)",
            )
        sums = [checksum_sha256(h) for h in part_sha256s]
        create: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": full,
            "Metadata": {ANNOUNCED_SIZE: str(size_bytes)},
        }
        if sums:
            create["ChecksumAlgorithm"] = "SHA256"
        try:
            mp = self.client.create_multipart_upload(**create)
        except Exception as exc:
            raise self._fail(exc, key) from None
        upload_id = str(mp["UploadId"])
        parts = []
        for i, offset in enumerate(offsets, start=1):
            size = min(part, size_bytes - offset)
            params = {
                "Bucket": self.bucket,
                "Key": full,
                "UploadId": upload_id,
                "PartNumber": i,
                "ContentLength": size,
            }
            signed: tuple[tuple[str, str], ...] = ()
            if sums:
                # Signed: S3 refuses a part whose body has another sha256.
                params["ChecksumSHA256"] = sums[i - 1]
                signed = (("x-amz-checksum-sha256", sums[i - 1]),)
            url = self.client.generate_presigned_url(
                "upload_part", Params=params, ExpiresIn=expires_s
            )
            parts.append(UploadPart(i, offset, size, str(url), signed))
        return PresignedUpload(key, None, upload_id, tuple(parts))

    def _pending(self, key: str) -> list[str]:
        """Ids of the multipart uploads of ``key`` not completed or aborted, newest last."""
        full = self._k(key)
        try:
            r = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=full)
        except Exception as exc:
            raise self._fail(exc, key) from None
        ups = [u for u in r.get("Uploads", []) if u["Key"] == full]
        return [str(u["UploadId"]) for u in sorted(ups, key=lambda u: u["Initiated"])]

    def complete_upload(self, key: str, part_sha256s: Sequence[str] = ()) -> bool:
        pending = self._pending(key)
        if not pending:
            return False
        multipart_id = pending[-1]
        full = self._k(key)
        try:
            pages = self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=full, UploadId=multipart_id
            )
            parts = [
                {
                    "PartNumber": p["PartNumber"],
                    "ETag": p["ETag"],
                    **({"ChecksumSHA256": p["ChecksumSHA256"]} if "ChecksumSHA256" in p else {}),
                }
                for page in pages
                for p in page.get("Parts", [])
            ]
        except Exception as exc:
            raise self._fail(exc, key) from None
        if not parts:
            raise StorageError(f"{self.uri(key)}: no part of the multipart upload arrived")
        if part_sha256s and len(parts) != len(part_sha256s):
            raise StorageError(
                f"{self.uri(key)}: {len(parts)} of the {len(part_sha256s)} parts arrived"
            )
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=multipart_id,
                MultipartUpload={"Parts": sorted(parts, key=lambda p: p["PartNumber"])},
            )
        except Exception as exc:
            raise StorageError(f"{self.uri(key)}: the parts could not be joined ({exc})") from None
        if part_sha256s:
            self._check_parts(key, part_sha256s)
        return True

    def _check_parts(self, key: str, part_sha256s: Sequence[str]) -> None:
        """The joined object's composite checksum (S3's sha256 of its parts' sha256s, from the
        bytes it stored) is the one the announced part sha256s make.

        Raises:
            StorageError: another checksum, or none (a part PUT without its checksum).
        """
        want = composite_sha256(part_sha256s)
        try:
            r = self.client.head_object(
                Bucket=self.bucket, Key=self._k(key), ChecksumMode="ENABLED"
            )
        except Exception as exc:
            raise self._fail(exc, key) from None
        got = str(r.get("ChecksumSHA256") or "")
        # "<base64>-<parts>" as AWS gives it; some S3 servers leave out the part count.
        if got.split("-")[0] != want.split("-")[0] or ("-" in got and got != want):
            raise StorageError(
                f"{self.uri(key)}: the parts that arrived have the checksum "
                f"{got or '(none)'}, not {want} from the announced part sha256s"
            )

    def abort_uploads(self, key: str) -> None:
        for multipart_id in self._pending(key):
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self._k(key), UploadId=multipart_id
                )

    def hold(self) -> contextlib.AbstractContextManager[None]:
        return self.cache.hold()


class _Connection:
    """One boto3 client per process and settings, checked once."""

    def __init__(self, endpoint_url: str, multipart_bytes: int) -> None:
        self.endpoint_url = endpoint_url
        self.multipart_bytes = multipart_bytes
        self._client: BaseClient | None = None
        self._checked: set[str] = set()
        self._lock = threading.Lock()
        self._transfer: Any = None

    def _make(self, read_timeout: float, attempts: int) -> BaseClient:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=read_timeout,
            retries={"max_attempts": attempts, "mode": "standard"},
            max_pool_connections=PARALLEL * 2,
            # Path-style works with every S3 API (MinIO, Ceph, moto); AWS accepts it too.
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            signature_version="s3v4",
        )
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=self.endpoint_url or None,
            config=config,
            region_name=session.region_name or "us-east-1",
        )

    @property
    def transfer(self) -> Any:
        if self._transfer is None:
            from boto3.s3.transfer import TransferConfig

            self._transfer = TransferConfig(
                multipart_threshold=self.multipart_bytes,
                multipart_chunksize=self.multipart_bytes,
                max_concurrency=PARALLEL,
            )
        return self._transfer

    def client_for(self, bucket: str) -> BaseClient:
        if bucket not in self._checked:
            self.check(bucket)
        assert self._client is not None
        return self._client

    def check(self, bucket: str) -> None:
        """Raises: InvalidSettingError naming the setting to fix (endpoint, credentials,
        bucket), within a few seconds."""
        with self._lock:
            if bucket in self._checked:
                return
            probe = self._make(CHECK_READ_TIMEOUT_S, 1)
            try:
                probe.head_bucket(Bucket=bucket)
            except Exception as exc:
                raise _translate(exc, bucket, None, checking=True) from None
            if self._client is None:
                self._client = self._make(READ_TIMEOUT_S, MAX_ATTEMPTS)
            self._checked.add(bucket)


def _translate(
    exc: Exception, bucket: str, uri: str | None, *, checking: bool = False
) -> Exception:
    """One clear Genesis error for what botocore raised."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return InvalidSettingError(CREDENTIALS, f"none usable were found for s3://{bucket} ({exc})")
    if isinstance(exc, EndpointConnectionError | ConnectionError):
        return InvalidSettingError(ENDPOINT, f"cannot reach the S3 endpoint: {exc}")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in ("NoSuchKey", "NotFound", "404") and uri is not None:
            return ObjectMissingError(uri)
        if code in ("NoSuchBucket",) or (status == 404 and uri is None):
            return InvalidSettingError(STORAGE, f"bucket {bucket!r} does not exist")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken") or (
            status == 403 and checking
        ):
            return InvalidSettingError(
                CREDENTIALS, f"refused by the S3 endpoint for s3://{bucket} ({code or status})"
            )
        if status == 404 and uri is not None:
            return ObjectMissingError(uri)
        return StorageError(f"{uri or f's3://{bucket}'}: S3 said {code or status}: {exc}")
    if isinstance(exc, StorageError | InvalidSettingError):
        return exc
    return StorageError(f"{uri or f's3://{bucket}'}: {type(exc).__name__}: {exc}")


def _pid() -> int:
    import os

    return os.getpid()
