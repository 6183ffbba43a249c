"""Footage a browser cannot play (issue #11): the Transcript player never gets a file the browser
shows as a dead player; it says "Preparing a playable copy…" until a copy made in the background
(started by the upload) is there, then plays that; when no copy can be made it says why."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.apptest import assert_no_exception, open_page, texts
from support.db import scalar
from support.playback_media import make_clip

from genesis_pipeline.config import Settings
from genesis_pipeline.media.probe import probe
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store

PREPARING = "Preparing a playable copy…"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("playback-page-clips")
    make_clip(d, "mpeg4")
    make_clip(d, "h264")
    return d


@pytest.fixture()
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths of the files the page hands to players (``st.video``/``st.audio``), in order."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: list[str] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, str):
            seen.append(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    return seen


@pytest.fixture()
def env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setenv("GENESIS_NO_DEMO", "1")
    monkeypatch.setenv("GENESIS_OFFLINE", "1")
    monkeypatch.delenv("GENESIS_IMPORT_DIR", raising=False)
    return Store(Settings.from_env())


def assert_browser_plays_what_it_gets(served: list[str]) -> None:
    """Every file a player got is one browsers play: H.264 8-bit 4:2:0 with AAC, in MP4."""
    for path in served:
        info = probe(path)
        got = (info.container.split(",")[0], info.video_codec, info.pix_fmt, info.audio_codec)
        assert got == ("mov", "h264", "yuv420p", "aac"), (
            f"the player got {Path(path).name} ({info.video_codec}, {info.pix_fmt}): a browser "
            "shows it as a dead player"
        )


def wait_until(check, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def test_uploaded_footage_plays_from_its_copy_without_a_run(
    env: Store, clips: Path, served: list[str]
) -> None:
    store = env
    pid = create_project(store, "Proxy", actor=ADMIN).id
    src = clips / "mpeg4 part2.mp4"
    upload = open_page(pid, "views/upload.py")
    upload.file_uploader[0].set_value((src.name, src.read_bytes(), "video/mp4"))
    upload.run()
    assert_no_exception(upload)

    # Straight after the upload, no run: never the MPEG-4 Part 2 file itself.
    at = open_page(pid, "views/transcript.py")
    assert_browser_plays_what_it_gets(served)
    if not at.get("video"):
        assert PREPARING in texts(at) and "MPEG-4 Part 2" in texts(at)

    # The upload started the copy in the background; it appears without a run.
    from genesis_pipeline.services.playback import playback, project_playback

    (mid,) = [p.media_id for p in project_playback(store, pid)]
    wait_until(lambda: playback(store, mid).state == "proxy")
    served.clear()
    at.run()
    assert_no_exception(at)
    assert len(at.get("video")) == 1 and served == [playback(store, mid).path]
    assert_browser_plays_what_it_gets(served)
    assert abs(probe(served[0]).duration_s - probe(src).duration_s) < 0.05
    assert "Playing a small H.264 copy" in texts(at) and PREPARING not in texts(at)
    with store.db.read() as con:
        assert scalar(con, "SELECT count(*) FROM runs") == 0
    # The worker stops by itself once nothing is left to copy.
    from genesis_pipeline.runs.launch import pid_alive

    launch = json.loads(store.path("locks", f"proxies-project-{pid}.launch").read_text())
    wait_until(lambda: not pid_alive(int(launch["pid"])), 60)


def test_preparing_then_the_player(
    env: Store, clips: Path, served: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesis_pipeline.runs import proxy_worker as playback

    started: list[int] = []
    monkeypatch.setattr(playback, "start_proxy_worker", lambda _s, pid: started.append(pid))
    store = env
    pid = create_project(store, "Proxy", actor=ADMIN).id
    add_media(store, pid, [clips / "mpeg4 part2.mp4"], actor=ADMIN)
    at = open_page(pid, "views/transcript.py")
    assert not at.get("video") and not served
    assert PREPARING in texts(at) and "MPEG-4 Part 2" in texts(at)
    assert started == [pid]  # nobody was making it: the page started a worker

    playback.make_project_proxies(store, pid)
    at.run()
    assert_no_exception(at)
    assert len(at.get("video")) == 1 and PREPARING not in texts(at)
    assert_browser_plays_what_it_gets(served)


def test_no_copy_possible_says_why(
    env: Store, clips: Path, served: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesis_pipeline.media import ffmpeg as ffmpeg_mod
    from genesis_pipeline.runs import proxy_worker as playback

    store = env
    pid = create_project(store, "Proxy", actor=ADMIN).id
    add_media(store, pid, [clips / "mpeg4 part2.mp4"], actor=ADMIN)
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'Conversion failed!' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("GENESIS_FFMPEG", str(broken))
    ffmpeg_mod.ffmpeg_exe.cache_clear()
    try:
        playback.make_project_proxies(store, pid)
    finally:
        monkeypatch.delenv("GENESIS_FFMPEG")
        ffmpeg_mod.ffmpeg_exe.cache_clear()
    started: list[int] = []
    monkeypatch.setattr(playback, "start_proxy_worker", lambda _s, pid: started.append(pid))
    at = open_page(pid, "views/transcript.py")
    assert not at.get("video") and not served and not started
    (warning,) = [w.value for w in at.warning]
    assert "cannot be played here" in warning and "MPEG-4 Part 2" in warning
    assert "Conversion failed!" in warning
    assert PREPARING not in texts(at)


def test_playable_footage_plays_as_it_is(
    env: Store, clips: Path, served: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesis_pipeline.runs import proxy_worker as playback

    started: list[int] = []
    monkeypatch.setattr(playback, "start_proxy_worker", lambda _s, pid: started.append(pid))
    store = env
    pid = create_project(store, "Proxy", actor=ADMIN).id
    (added,) = add_media(store, pid, [clips / "h264.mp4"], actor=ADMIN)
    at = open_page(pid, "views/transcript.py")
    assert served == [str(store.absolute(added.media.path))] and not started
    assert "copy" not in texts(at)
