"""Upload page: browser uploads through the upload service, rejections, import from a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN
from support.apptest import assert_no_exception, open_page, texts

from genesis_pipeline.config import Settings
from genesis_pipeline.media.synth import Footage, Shot, make_footage
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.queries import media_table
from genesis_pipeline.store import Store


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    """1.2 s, 320x180 at 25 fps, two shots, a 440 Hz tone."""
    return make_footage(
        tmp_path_factory.mktemp("upload-media") / "harbour take 1.mp4",
        (Shot("testsrc2", 0.6), Shot("smptebars", 0.6)),
        tone_hz=440.0,
    )


def _open(home: Path, monkeypatch: pytest.MonkeyPatch, import_dir: Path | None = None):
    """A fresh data dir with one empty project and an AppTest on the Upload page."""

    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setenv("GENESIS_NO_DEMO", "1")
    monkeypatch.setenv("GENESIS_OFFLINE", "1")
    if import_dir is None:
        monkeypatch.delenv("GENESIS_IMPORT_DIR", raising=False)
    else:
        monkeypatch.setenv("GENESIS_IMPORT_DIR", str(import_dir))
    store = Store(Settings.from_env())
    pid = create_project(store, "Upload test", actor=ADMIN).id
    return open_page(pid, "views/upload.py"), store, pid


def test_upload_good_and_bad_files(home: Path, monkeypatch, clip: Footage) -> None:
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    released: list[str] = []
    remove = MemoryUploadedFileManager.remove_file

    def spy(self, session_id: str, file_id: str) -> None:
        released.append(file_id)
        remove(self, session_id, file_id)

    monkeypatch.setattr(MemoryUploadedFileManager, "remove_file", spy)
    at, store, pid = _open(home, monkeypatch)
    assert "GENESIS_IMPORT_DIR" in texts(at)  # the note shown when no import folder is set
    uploader = at.file_uploader[0]
    assert uploader.accept_multiple_files
    uploader.set_value(
        [
            (clip.path.name, clip.path.read_bytes(), "video/mp4"),
            ("notes.mp4", b"these are meeting notes, not a video\n" * 20, "video/mp4"),
        ]
    )
    at.run()
    assert_no_exception(at)

    media = media_table(store, pid)
    assert list(media.original_name) == [clip.path.name]
    m = media.iloc[0]
    assert abs(m.duration_s - clip.duration_s) < 0.05
    assert (m.width, m.height, m.fps, bool(m.has_audio)) == (320, 180, 25.0, True)
    assert Path(m.path).read_bytes() == clip.path.read_bytes()

    # What was probed is shown for the accepted file, the reason for the rejected one.
    accepted = at.dataframe[0].value
    row = accepted.iloc[0]
    assert (row["file"], row["status"], row["resolution"], row["fps"], row["audio"]) == (
        clip.path.name,
        "new",
        "320×180",
        "25",
        "yes",
    )
    assert row["codecs"] == "h264 / aac" and row["VFR"] == "no" and row["rotation"] == "0°"
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "notes.mp4" in errors[0]

    # Both files left server memory once handled; the uploader was replaced by an empty one,
    # and no bytes linger in the uploads area.
    assert len(set(released)) == 2
    assert at.file_uploader[0].key == "uploader_1"
    assert not at.file_uploader[0].value
    assert not [p for p in store.path("uploads").rglob("*") if p.is_file()]

    # The same bytes again: reported as a duplicate, the project keeps one copy.
    at.file_uploader[0].set_value((clip.path.name, clip.path.read_bytes(), "video/mp4"))
    at.run()
    assert at.dataframe[0].value.iloc[0]["status"] == "duplicate"
    assert len(media_table(store, pid)) == 1


def test_bad_file_leaves_project_unchanged(home: Path, monkeypatch) -> None:
    at, store, pid = _open(home, monkeypatch)
    at.file_uploader[0].set_value(("empty.mov", b"", "video/quicktime"))
    at.run()
    assert_no_exception(at)
    assert media_table(store, pid).empty
    assert len(at.error) == 1 and "empty.mov" in at.error[0].value
    assert "No media yet" in texts(at)


def test_import_from_folder(home: Path, tmp_path: Path, monkeypatch, clip: Footage) -> None:
    folder = tmp_path / "incoming"
    (folder / "day1").mkdir(parents=True)
    target = folder / "day1" / "camera A.mp4"
    target.write_bytes(clip.path.read_bytes())
    (folder / "readme.txt").write_text("not media")
    at, store, pid = _open(home, monkeypatch, import_dir=folder)

    picker = at.multiselect[0]
    assert picker.options == ["day1/camera A.mp4"]
    assert at.button(key="import_button").disabled
    picker.set_value(["day1/camera A.mp4"])
    at.run()
    # The files picked stay picked over a look at another page.
    at.switch_page("views/projects.py").run()
    at.switch_page("views/upload.py").run()
    assert at.multiselect[0].value == ["day1/camera A.mp4"]
    at.button(key="import_button").click()
    at.run()
    assert_no_exception(at)

    media = media_table(store, pid)
    assert len(media) == 1
    m = media.iloc[0]
    assert bool(m.imported) and Path(m.path) == target.resolve()  # registered in place
    assert abs(m.duration_s - clip.duration_s) < 0.05
    assert at.dataframe[0].value.iloc[0]["status"] == "new"
    assert at.multiselect[0].value == []  # the picker was cleared
