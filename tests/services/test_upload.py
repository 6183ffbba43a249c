"""The upload service: tickets, validation, dedupe, sanitised names, import in place."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.db import scalar

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, UploadError
from genesis_pipeline.services.naming import sanitize_filename
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import (
    add_media,
    create_upload,
    finalize_upload,
    import_from_folder,
)
from genesis_pipeline.store import Store


@pytest.fixture()
def store(home: Path) -> Store:
    return Store(Settings(home=home))


def _media_count(store: Store) -> int:
    with store.db.read() as con:
        return int(scalar(con, "SELECT count(*) FROM media_files"))


def test_upload_roundtrip_probes_and_dedupes(store: Store, footage) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "My clip.mp4", actor=ADMIN)
    assert store.home in ticket.target.parents
    shutil.copyfile(footage.path, ticket.target)
    added = finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    m = added.media
    assert not added.duplicate
    assert m.original_name == "My clip.mp4"
    assert abs(m.duration_s - footage.duration_s) < 0.05
    assert (m.width, m.height, m.fps, m.has_audio) == (320, 180, 25.0, True)
    assert store.absolute(m.path).is_file()
    assert not ticket.target.exists()  # moved, not copied
    again = add_media(store, pid, [footage.path], actor=ADMIN)
    assert again[0].duplicate and again[0].media.id == m.id
    assert _media_count(store) == 1


def test_ticket_is_single_use_and_checks_token(store: Store, footage) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "a.mp4", actor=ADMIN)
    shutil.copyfile(footage.path, ticket.target)
    with pytest.raises(UploadError, match="wrong token"):
        finalize_upload(store, ticket.upload_id, "not-the-token", actor=ADMIN)
    finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    with pytest.raises(UploadError, match="already used"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)


def test_announced_size_and_sha256_are_checked_at_finalize(store: Store, footage) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    data = footage.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(InvalidSettingError, match="sha256"):
        create_upload(store, pid, "a.mp4", sha256="not-hex", actor=ADMIN)
    short = create_upload(store, pid, "a.mp4", size_bytes=len(data) + 1, actor=ADMIN)
    short.target.write_bytes(data)
    with pytest.raises(UploadError, match=f"{len(data)} bytes arrived, {len(data) + 1} were"):
        finalize_upload(store, short.upload_id, short.token, actor=ADMIN)
    other = create_upload(store, pid, "a.mp4", size_bytes=len(data), sha256=sha, actor=ADMIN)
    other.target.write_bytes(data[:-16] + bytes(16))
    with pytest.raises(UploadError, match="not the announced"):
        finalize_upload(store, other.upload_id, other.token, actor=ADMIN)
    right = create_upload(
        store, pid, "a.mp4", size_bytes=len(data), sha256=sha.upper(), actor=ADMIN
    )
    right.target.write_bytes(data)
    assert finalize_upload(store, right.upload_id, right.token, actor=ADMIN).media.sha256 == sha
    assert _media_count(store) == 1


def test_expired_ticket_is_refused(home: Path, footage) -> None:
    store = Store(Settings(home=home, upload_ttl_s=1))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "a.mp4", actor=ADMIN)
    shutil.copyfile(footage.path, ticket.target)
    time.sleep(1.2)
    with pytest.raises(UploadError, match="expired"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert _media_count(store) == 0
    assert not ticket.target.exists()


def test_bad_file_leaves_project_unchanged(store: Store, footage, tmp_path: Path) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(InvalidMediaError) as err:
        add_media(store, pid, [footage.path, bad], actor=ADMIN)
    assert "notes.mp4" in str(err.value)
    assert _media_count(store) == 0
    assert not any((store.home / "media").glob("**/*.mp4"))


def test_size_limit(home: Path, footage) -> None:
    store = Store(Settings(home=home, max_upload_mb=1))
    pid = create_project(store, "p", actor=ADMIN).id
    big = home.parent / "big.mp4"
    shutil.copyfile(footage.path, big)
    with open(big, "ab") as fh:
        fh.truncate(2 * 1024 * 1024)
    with pytest.raises(InvalidMediaError, match="over the upload limit"):
        add_media(store, pid, [big], actor=ADMIN)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("clip; rm -rf ~.mp4", "clip_rm_-rf.mp4"),
        ("Ünïcødé clip.MOV", "Ünïcødé_clip.mov"),
        ("$(reboot)`x`.mkv", "reboot_x.mkv"),
        ("...", "media"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_import_from_folder_registers_in_place(home: Path, footage, tmp_path: Path) -> None:
    root = tmp_path / "imports"
    (root / "day1").mkdir(parents=True)
    shutil.copyfile(footage.path, root / "day1" / "a.mp4")
    store = Store(Settings(home=home, import_dir=root))
    pid = create_project(store, "p", actor=ADMIN).id
    added = import_from_folder(store, pid, ["day1/a.mp4"], actor=ADMIN)
    assert added[0].media.imported
    assert Path(added[0].media.path) == (root / "day1" / "a.mp4").resolve()
    with pytest.raises(InvalidSettingError, match="outside"):
        import_from_folder(store, pid, ["../../etc/passwd"], actor=ADMIN)
    os.unlink(root / "day1" / "a.mp4")
