"""Uploads with S3 storage: presigned PUT and multipart from a plain HTTP client, then finalize
(size, sha256, probe over range reads); tickets single-use and expiring; imports in place."""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from support.actors import ADMIN
from support.db import scalar
from support.s3server import S3Server, object_keys, s3_would_accept, write_noise_clip

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, UploadError
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import (
    create_upload,
    finalize_upload,
    import_from_s3,
    importable_objects,
    upload_target,
    write_upload,
)
from genesis_pipeline.store import Store

MakeSettings = Callable[..., Settings]


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Over 5 MiB of valid H.264: several parts at S3's 5 MiB minimum part size."""
    path = write_noise_clip(tmp_path_factory.mktemp("big") / "big clip.mp4", seconds=2.0)
    assert path.stat().st_size > 6 * 1024 * 1024
    return path


@dataclass(frozen=True)
class Multipart:
    """One store with 5 MiB parts (S3's minimum) and a project, in a bucket of its own, for
    the multipart tests of this module."""

    store: Store
    pid: int
    bucket: str

    def media_count(self) -> int:
        return _media_count(self.store)

    def upload_keys(self, s3: S3Server) -> list[str]:
        return object_keys(s3, self.bucket, "genesis/uploads/")


@pytest.fixture(scope="module")
def multipart(tmp_path_factory: pytest.TempPathFactory, s3: S3Server) -> Multipart:
    bucket = s3.bucket()
    settings = Settings(
        home=tmp_path_factory.mktemp("multipart"),
        storage=f"s3://{bucket}/genesis",
        s3_endpoint_url=s3.endpoint,
        s3_multipart_mb=5,
    )
    store = Store(settings)
    return Multipart(store, create_project(store, "p", actor=ADMIN).id, bucket)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _media_count(store: Store) -> int:
    with store.db.read() as con:
        return int(scalar(con, "SELECT count(*) FROM media_files"))


def test_presigned_put_then_finalize(
    home: Path, footage, s3_settings: MakeSettings, s3: S3Server, bucket: str
) -> None:
    store = Store(s3_settings(home))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "Harbour dawn.mp4", actor=ADMIN)
    assert ticket.url is not None and not ticket.parts
    doc = upload_target(store, ticket)
    assert doc.commands[0].startswith("curl --fail -X PUT -T FILE ")
    assert any(c.startswith("aws s3 cp FILE s3://") for c in doc.commands)
    r = requests.put(ticket.url, data=footage.path.read_bytes(), timeout=30)
    assert r.status_code == 200, r.text
    added = finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    m = added.media
    assert not added.duplicate and m.original_name == "Harbour dawn.mp4"
    assert (m.width, m.height, m.fps, m.has_audio) == (320, 180, 25.0, True)
    assert abs(m.duration_s - footage.duration_s) < 0.05
    assert m.sha256 == _sha(footage.path) and m.size_bytes == footage.path.stat().st_size
    keys = object_keys(s3, bucket)
    assert f"genesis/{m.path}" in keys and m.path.startswith(f"media/{pid}/")
    assert not [k for k in keys if "/uploads/" in k]  # the upload object is gone
    assert store.local_path(m.path).read_bytes() == footage.path.read_bytes()
    with pytest.raises(UploadError, match="already used"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)


def test_multipart_upload_from_a_plain_http_client(
    multipart: Multipart, big_clip: Path, s3: S3Server
) -> None:
    store, pid = multipart.store, multipart.pid
    size = big_clip.stat().st_size
    ticket = create_upload(store, pid, big_clip.name, size_bytes=size, actor=ADMIN)
    assert ticket.url is None and len(ticket.parts) == math.ceil(size / (5 * 1024 * 1024)) >= 2
    assert sum(p.size for p in ticket.parts) == size
    data = big_clip.read_bytes()
    for part in reversed(ticket.parts):  # any order
        r = requests.put(part.url, data=data[part.offset : part.offset + part.size], timeout=60)
        assert r.status_code == 200, r.text
    added = finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert added.media.sha256 == _sha(big_clip) and added.media.size_bytes == size
    assert f"genesis/{added.media.path}" in object_keys(s3, multipart.bucket)
    assert multipart.upload_keys(s3) == []


def test_multipart_short_of_what_was_announced_is_refused(
    multipart: Multipart, big_clip: Path, s3: S3Server
) -> None:
    store, pid = multipart.store, multipart.pid
    before = multipart.media_count()
    size = big_clip.stat().st_size
    ticket = create_upload(store, pid, big_clip.name, size_bytes=size, actor=ADMIN)
    data = big_clip.read_bytes()
    *whole, last = ticket.parts
    for part in whole:
        chunk = data[part.offset : part.offset + part.size]
        requests.put(part.url, data=chunk, timeout=60).raise_for_status()
    requests.put(last.url, data=data[last.offset : last.offset + 1000], timeout=60)
    with pytest.raises(UploadError, match="were announced"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert multipart.media_count() == before
    assert multipart.upload_keys(s3) == []


def test_puts_are_signed_with_their_size_and_checksum_and_finalize_checks_both(
    multipart: Multipart, footage, big_clip: Path, s3: S3Server
) -> None:
    store, pid = multipart.store, multipart.pid
    before = multipart.media_count()
    data, sha = footage.path.read_bytes(), _sha(footage.path)
    ticket = create_upload(store, pid, "a.mp4", size_bytes=len(data), sha256=sha, actor=ADMIN)
    assert ticket.url is not None
    signed = dict(ticket.headers)
    assert list(signed) == ["x-amz-checksum-sha256"]
    assert (
        f"-H 'x-amz-checksum-sha256: {signed['x-amz-checksum-sha256']}'"
        in (upload_target(store, ticket).commands[0])
    )
    # What S3 checks of the presigned PUT (moto's server checks no presigned signature).
    now = time.time()
    right = {"Content-Length": str(len(data)), **signed}
    assert s3_would_accept(ticket.url, "PUT", right, now)
    assert not s3_would_accept(ticket.url, "PUT", {**right, "Content-Length": "1000"}, now)
    other = hashlib.sha256(b"other bytes").digest()
    assert not s3_would_accept(
        ticket.url, "PUT", {**right, "x-amz-checksum-sha256": base64.b64encode(other).decode()}, now
    )
    assert not s3_would_accept(ticket.url, "PUT", {"Content-Length": str(len(data))}, now)
    # Each part of a multipart upload is signed with its own length.
    size = big_clip.stat().st_size
    parts = create_upload(store, pid, big_clip.name, size_bytes=size, actor=ADMIN).parts
    assert len(parts) >= 2
    for part in parts:
        assert s3_would_accept(part.url, "PUT", {"Content-Length": str(part.size)}, now)
        assert not s3_would_accept(part.url, "PUT", {"Content-Length": str(part.size - 1)}, now)

    # moto stores any body; finalize refuses what S3 would have: another size...
    requests.put(ticket.url, data=data[:-1000], headers=signed, timeout=30).raise_for_status()
    with pytest.raises(UploadError, match=f"{len(data) - 1000} bytes arrived, {len(data)} were"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    # ... or other bytes of the announced size.
    again = create_upload(store, pid, "b.mp4", size_bytes=len(data), sha256=sha, actor=ADMIN)
    assert again.url is not None
    tampered = data[:-16] + bytes(16)
    requests.put(again.url, data=tampered, headers=signed, timeout=30).raise_for_status()
    with pytest.raises(UploadError, match="not the announced"):
        finalize_upload(store, again.upload_id, again.token, actor=ADMIN)
    assert multipart.media_count() == before
    assert not [k for k in multipart.upload_keys(s3) if k.endswith(("/a.mp4", "/b.mp4"))]


def test_expired_ticket_is_refused_and_its_object_removed(
    home: Path, footage, s3_settings: MakeSettings, s3: S3Server, bucket: str
) -> None:
    store = Store(s3_settings(home, upload_ttl_s=1))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "late.mp4", actor=ADMIN)
    assert ticket.url is not None
    body = footage.path.read_bytes()
    requests.put(ticket.url, data=body, timeout=30).raise_for_status()
    time.sleep(1.3)
    # The URL expired with the ticket: S3 refuses it now. moto's server does not check
    # X-Amz-Expires, so the refusal tested end to end is the ticket's own expiry below.
    assert not s3_would_accept(ticket.url, "PUT", {"Content-Length": str(len(body))}, time.time())
    for _ in range(2):
        with pytest.raises(UploadError, match="expired"):
            finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert object_keys(s3, bucket) == [] and _media_count(store) == 0


def test_wrong_token_and_nothing_uploaded_are_refused(
    home: Path, s3_settings: MakeSettings
) -> None:
    store = Store(s3_settings(home))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "a.mp4", actor=ADMIN)
    with pytest.raises(UploadError, match="wrong token"):
        finalize_upload(store, ticket.upload_id, "not-the-token", actor=ADMIN)
    with pytest.raises(UploadError, match="nothing was uploaded"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)


def test_bytes_that_are_not_media_are_refused_naming_the_file(
    home: Path, s3_settings: MakeSettings, s3: S3Server, bucket: str
) -> None:
    store = Store(s3_settings(home))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "notes.mp4", actor=ADMIN)
    assert ticket.url is not None
    requests.put(ticket.url, data=b"just some text, not a video\n" * 100, timeout=30)
    with pytest.raises(InvalidMediaError) as err:
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert err.value.path == "notes.mp4" and "media" in err.value.reason
    assert object_keys(s3, bucket) == [] and _media_count(store) == 0


def test_bytes_written_on_the_app_host_are_uploaded_and_kept_cached(
    home: Path, footage, s3_settings: MakeSettings, s3: S3Server, bucket: str
) -> None:
    store = Store(s3_settings(home))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "small.mp4", actor=ADMIN)
    with open(footage.path, "rb") as fh:
        write_upload(store, ticket, fh)
    added = finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert f"genesis/{added.media.path}" in object_keys(s3, bucket)
    assert not ticket.target.exists()
    # The bytes moved into the read-through cache: reading them downloads nothing.
    cached = store.absolute(added.media.path)
    assert cached.is_file() and cached.read_bytes() == footage.path.read_bytes()


def test_import_from_an_s3_prefix_registers_in_place(
    home: Path, footage, tone_footage, s3_settings: MakeSettings, s3: S3Server, bucket: str
) -> None:
    client = s3.client()
    client.put_object(Bucket=bucket, Key="incoming/day1/a.mp4", Body=footage.path.read_bytes())
    client.put_object(Bucket=bucket, Key="incoming/day1/b.mp4", Body=tone_footage.path.read_bytes())
    client.put_object(Bucket=bucket, Key="incoming/day1/notes.txt", Body=b"not footage")
    store = Store(s3_settings(home))
    pid = create_project(store, "p", actor=ADMIN).id
    found = importable_objects(store, f"s3://{bucket}/incoming/day1")
    assert found == [f"s3://{bucket}/incoming/day1/a.mp4", f"s3://{bucket}/incoming/day1/b.mp4"]
    added = import_from_s3(store, pid, found, actor=ADMIN)
    assert [a.media.path for a in added] == found  # rows record the URIs
    assert all(a.media.imported for a in added)
    assert added[0].media.sha256 == _sha(footage.path)
    assert not [k for k in object_keys(s3, bucket) if k.startswith("genesis/media/")]  # no copy
    local = store.local_path(found[0])
    assert local.read_bytes() == footage.path.read_bytes()
    assert store.relative(local) == found[0]
    # One bad object: nothing is registered.
    pid2 = create_project(store, "q", actor=ADMIN).id
    with pytest.raises(InvalidMediaError, match=r"notes\.txt"):
        import_from_s3(
            store, pid2, [found[0], f"s3://{bucket}/incoming/day1/notes.txt"], actor=ADMIN
        )
    with pytest.raises(InvalidMediaError, match="does not exist"):
        import_from_s3(store, pid2, [f"s3://{bucket}/incoming/day1/gone.mp4"], actor=ADMIN)
    with store.db.read() as con:
        assert int(scalar(con, f"SELECT count(*) FROM media_files WHERE project_id = {pid2}")) == 0


def test_multipart_parts_signed_with_their_sha256_and_finalize_checks_them(
    multipart: Multipart, big_clip: Path, s3: S3Server
) -> None:
    store, pid = multipart.store, multipart.pid
    before = multipart.media_count()
    size = big_clip.stat().st_size
    data = big_clip.read_bytes()
    part = store.storage.part_size(size)
    assert part == 5 * 1024 * 1024
    chunks = [data[o : o + part] for o in range(0, size, part)]
    sums = [hashlib.sha256(c).hexdigest() for c in chunks]
    # The wrong number of part checksums is refused at once, saying how the file is cut.
    with pytest.raises(InvalidSettingError, match=f"parts of {part} bytes"):
        create_upload(
            store, pid, big_clip.name, size_bytes=size, part_sha256s=sums[:-1], actor=ADMIN
        )

    ticket = create_upload(
        store, pid, big_clip.name, size_bytes=size, part_sha256s=sums, actor=ADMIN
    )
    now = time.time()
    for p, sha in zip(ticket.parts, sums, strict=True):
        signed = dict(p.headers)
        want = base64.b64encode(bytes.fromhex(sha)).decode()
        assert signed == {"x-amz-checksum-sha256": want}
        right = {"Content-Length": str(p.size), **signed}
        assert s3_would_accept(p.url, "PUT", right, now)
        other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
        assert not s3_would_accept(p.url, "PUT", {**right, "x-amz-checksum-sha256": other}, now)
        assert not s3_would_accept(p.url, "PUT", {"Content-Length": str(p.size)}, now)
    assert "-H 'x-amz-checksum-sha256: " in upload_target(store, ticket).commands[0]
    for p in ticket.parts:
        body = data[p.offset : p.offset + p.size]
        requests.put(p.url, data=body, headers=dict(p.headers), timeout=60).raise_for_status()
    added = finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert added.media.sha256 == _sha(big_clip) and added.media.size_bytes == size

    # moto stores whatever body arrives; finalize refuses parts that are not the announced
    # bytes (S3 itself refuses them at the PUT), by the object's checksum of its parts.
    again = create_upload(store, pid, "b.mp4", size_bytes=size, part_sha256s=sums, actor=ADMIN)
    for i, p in enumerate(again.parts):
        body = data[p.offset : p.offset + p.size]
        if i == 0:
            body = bytes(16) + body[16:]
        requests.put(p.url, data=body, headers=dict(p.headers), timeout=60).raise_for_status()
    with pytest.raises(UploadError, match=r"not \S+ from the announced part sha256s"):
        finalize_upload(store, again.upload_id, again.token, actor=ADMIN)
    # The same clip may be in the module's project already (an earlier multipart test).
    assert multipart.media_count() == before + (0 if added.duplicate else 1)
    assert multipart.upload_keys(s3) == []
