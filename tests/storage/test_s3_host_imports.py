"""Host-folder imports with S3 storage: under ``ray`` the files are copied into the storage on
import (the workers cannot read the app host's folders), with the local executor registered in
place as before."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.media.ffmpeg import ffmpeg_exe
from genesis_pipeline.services import upload
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import import_from_folder
from genesis_pipeline.store import Store


def test_host_folder_imports_are_copied_into_s3_under_ray(
    s3_settings: Callable[..., Settings], tmp_path: Path, tone_footage
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    src = folder / "tone.mp4"
    shutil.copyfile(tone_footage.path, src)
    size = src.stat().st_size
    store = Store(s3_settings(tmp_path / "home", executor="ray", import_dir=folder))
    pid = create_project(store, "ray import", actor=ADMIN).id
    notes: list[str] = []
    [added] = import_from_folder(
        store, pid, ["tone.mp4"], lambda d, t, n: notes.append(n), actor=ADMIN
    )
    recorded = added.media.path
    assert recorded.startswith(f"media/{pid}/") and recorded.endswith("-tone.mp4"), recorded
    assert store.object_size(recorded) == size
    assert store.location(recorded).startswith("s3://")
    assert not added.media.imported  # the copy is the project's; the original stays
    assert src.is_file()
    mb = f"{size / 1e6:.1f}"  # a small file: megabytes with one decimal
    assert notes[0] == f"copying tone.mp4: 0.0 of {mb} MB"
    assert notes[-2:] == [f"copying tone.mp4: {mb} of {mb} MB", "done"]
    # Not kept on the app host: the workers fetch it from S3.
    assert not list((store.home / "storage-cache").rglob("*.mp4"))


def test_a_multipart_copy_notes_its_bytes_as_they_go(
    s3_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file over the part size goes up in parts; the page's progress reads the megabytes
    sent, rising to the whole size."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    src = folder / "room-tone.wav"  # 70 s of 48 kHz stereo: 13.4 MB, three 5 MB parts
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "anoisesrc=d=70:r=48000:a=0.1",
         "-ac", "2", "-c:a", "pcm_s16le", str(src)],
        check=True,
    )  # fmt: skip
    size = src.stat().st_size
    monkeypatch.setattr(upload, "COPY_NOTE_S", 0.0)  # every callback notes (none skipped)
    store = Store(s3_settings(tmp_path / "home", executor="ray", import_dir=folder,
                              s3_multipart_mb=5))  # fmt: skip
    pid = create_project(store, "multipart import", actor=ADMIN).id
    notes: list[str] = []
    [added] = import_from_folder(
        store, pid, [src.name], lambda d, t, n: notes.append(n), actor=ADMIN
    )
    assert store.object_size(added.media.path) == size
    sent = [float(m[1]) for n in notes if (m := re.match(r"copying room-tone\.wav: (\d+) of", n))]
    assert sent == sorted(sent) and sent[0] == 0 and len(set(sent)) >= 3, notes
    assert sent[-1] == round(size / 1e6) and notes[-1] == "done"


def test_host_folder_imports_stay_in_place_with_the_local_executor(
    s3_settings: Callable[..., Settings], tmp_path: Path, tone_footage
) -> None:
    store = Store(s3_settings(tmp_path / "home", import_dir=tone_footage.path.parent))
    pid = create_project(store, "local import", actor=ADMIN).id
    [added] = import_from_folder(store, pid, [tone_footage.path.name], actor=ADMIN)
    assert added.media.path == str(tone_footage.path.resolve())
    assert added.media.imported
