"""Host-folder imports with S3 storage: under ``ray`` the files are copied into the storage on
import (the workers cannot read the app host's folders), with the local executor registered in
place as before."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from support.actors import ADMIN

from genesis_pipeline.config import Settings
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
    assert any(n.startswith("copying tone.mp4 (") and "into the storage" in n for n in notes)
    # Not kept on the app host: the workers fetch it from S3.
    assert not list((store.home / "storage-cache").rglob("*.mp4"))


def test_host_folder_imports_stay_in_place_with_the_local_executor(
    s3_settings: Callable[..., Settings], tmp_path: Path, tone_footage
) -> None:
    store = Store(s3_settings(tmp_path / "home", import_dir=tone_footage.path.parent))
    pid = create_project(store, "local import", actor=ADMIN).id
    [added] = import_from_folder(store, pid, [tone_footage.path.name], actor=ADMIN)
    assert added.media.path == str(tone_footage.path.resolve())
    assert added.media.imported
