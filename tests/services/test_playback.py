"""Playback proxies through the store: made once, cached, never half-written, reused by runs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil
import pytest
from support.actors import ADMIN
from support.db import scalar
from support.playback_media import make_clip
from support.procs import spawn, store_for

from genesis_pipeline.config import Settings
from genesis_pipeline.media import ffmpeg as ffmpeg_mod
from genesis_pipeline.media.probe import probe
from genesis_pipeline.runs.proxy_worker import make_project_proxies
from genesis_pipeline.services import playback
from genesis_pipeline.services.projects import create_project, get_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("playback-clips")
    make_clip(d, "mpeg4")
    make_clip(d, "h264")
    make_clip(d, "pcm mov audio")
    return d


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of 1280x720 MPEG-4 Part 2: its copy takes long enough to be caught in the act."""
    d = tmp_path_factory.mktemp("playback-long")
    out = d / "long mpeg4.mp4"
    ffmpeg_mod.run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30:duration=20,noise=alls=6:allf=t",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=20:sample_rate=48000",
            "-c:v",
            "mpeg4",
            "-q:v",
            "5",
            "-c:a",
            "aac",
            str(out),
        ],
        what="long clip",
    )
    return out


def path_of(pb: playback.Playback) -> str:
    """The file the player loads (the test expects one)."""
    assert pb.path is not None, pb
    return pb.path


def project_with(store: Store, *files: Path) -> tuple[int, list[int]]:
    pid = create_project(store, "playback", actor=ADMIN).id
    added = add_media(store, pid, list(files), actor=ADMIN)
    return pid, [a.media.id for a in added]


def test_made_once_then_cache_hits(home: Path, clips: Path, monkeypatch) -> None:
    store = Store(Settings(home=home))
    pid, (m4, h264, pcm) = project_with(
        store, clips / "mpeg4 part2.mp4", clips / "h264.mp4", clips / "voice pcm.mov"
    )
    before = {p.media_id: p for p in playback.project_playback(store, pid)}
    assert before[h264].state == "source" and path_of(before[h264]).endswith("h264.mp4")
    assert before[m4].state == "queued" and before[m4].path is None
    assert "MPEG-4 Part 2" in before[m4].reason and "Preparing a playable copy" in (
        before[m4].message
    )
    assert before[pcm].state == "queued" and "PCM" in before[pcm].reason

    made = {o.media_id: o for o in make_project_proxies(store, pid)}
    assert {k: o.status for k, o in made.items()} == {m4: "made", h264: "playable", pcm: "made"}
    pb = playback.playback(store, m4)
    assert pb.state == "proxy" and Path(path_of(pb)).is_file()
    assert Path(path_of(pb)).parent == store.project_dir("proxies", pid)
    assert probe(path_of(pb)).video_codec == "h264" and "H.264 copy" in pb.message
    audio = playback.playback(store, pcm)
    assert path_of(audio).endswith(".m4a") and probe(path_of(audio)).audio_codec == "aac"

    # Asked again: recorded, no ffmpeg. Another project with the same bytes: the stage cache.
    calls: list[object] = []
    monkeypatch.setattr(ffmpeg_mod, "run_ffmpeg", lambda *a, **k: calls.append(a))
    again = {o.media_id: o.status for o in make_project_proxies(store, pid)}
    assert again == {m4: "ready", h264: "playable", pcm: "ready"}
    pid2, (other,) = project_with(store, clips / "mpeg4 part2.mp4")
    project = get_project(store, pid2)
    with store.db.read() as con:
        media = media_sql.get(con, other)
    out = playback.ensure_proxy(store, project, media)
    assert out.status == "cached" and not calls
    assert playback.playback(store, other).state == "proxy"
    # Both projects' copies are the one cached file (hard links), not new encodes.
    first, second = Path(path_of(pb)), Path(path_of(playback.playback(store, other)))
    assert first != second and first.stat().st_ino == second.stat().st_ino


def test_failed_copy_says_why_and_can_be_retried(
    home: Path, clips: Path, tmp_path: Path, monkeypatch
) -> None:
    store = Store(Settings(home=home))
    pid, (m4,) = project_with(store, clips / "mpeg4 part2.mp4")
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("GENESIS_FFMPEG", str(broken))
    ffmpeg_mod.ffmpeg_exe.cache_clear()
    try:
        (out,) = make_project_proxies(store, pid)
    finally:
        monkeypatch.delenv("GENESIS_FFMPEG")
        ffmpeg_mod.ffmpeg_exe.cache_clear()
    assert out.status == "failed" and out.error is not None
    assert "Unknown encoder libx264" in out.error
    pb = playback.playback(store, m4)
    assert pb.state == "failed" and pb.path is None
    assert "cannot be played here" in pb.message and "MPEG-4 Part 2" in pb.message
    assert "Unknown encoder libx264" in pb.message
    assert not list(store.cache.root.joinpath("proxy").glob("*/proxy.mp4"))
    # The background worker does not loop on it; a run (or --retry-failed) tries again.
    assert [o.status for o in make_project_proxies(store, pid)] == ["failed"]
    outcomes = make_project_proxies(store, pid, retry_failed=True)
    assert [o.status for o in outcomes] == ["made"]
    assert playback.playback(store, m4).state == "proxy"


def _ffmpeg_writing(under: Path) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(str(under) in a for a in p.info["cmdline"] or []):
                found.append(p)
    return found


def _in_progress_copy(store: Store) -> Path | None:
    for d in store.cache.root.joinpath("proxy").glob(".tmp-*"):
        f = d / "proxy.mp4"
        if f.is_file() and f.stat().st_size > 0:
            return f
    return None


@pytest.mark.slow
def test_killed_worker_leaves_no_partial_copy(tmp_path: Path, long_clip: Path) -> None:
    home = tmp_path / "home"
    store = store_for(home)
    pid, (mid,) = project_with(store, long_clip)
    proc = spawn(home, "make-proxies", "--project-id", str(pid), "-q")
    try:
        deadline = time.monotonic() + 60
        partial = None
        while partial is None and time.monotonic() < deadline and proc.poll() is None:
            partial = _in_progress_copy(store)
            time.sleep(0.05)
        assert partial is not None, proc.communicate()
        # Meanwhile a page says so (the copy's lock is held, with progress).
        assert playback.playback(store, mid).state == "preparing"
        assert _ffmpeg_writing(partial.parent)
        os.kill(proc.pid, signal.SIGKILL)  # the worker only, as the OOM killer would
        proc.wait(10)
        # Its ffmpeg dies with it (no orphan encode keeps the cores busy).
        deadline = time.monotonic() + 10
        while _ffmpeg_writing(partial.parent) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _ffmpeg_writing(partial.parent)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    # Nothing half-made is in sight: no cache entry, no row, no published file.
    assert not list(store.cache.root.joinpath("proxy").glob("[!.]*"))
    assert not store.project_dir("proxies", pid).exists() or not list(
        store.project_dir("proxies", pid).iterdir()
    )
    pb = playback.playback(store, mid)
    assert pb.state == "queued" and pb.path is None  # nobody holds its lock any more
    # The next worker removes the dead one's leftovers and makes the copy whole.
    (out,) = make_project_proxies(store, pid)
    assert out.status == "made"
    assert not list(store.cache.root.joinpath("proxy").glob(".tmp-*"))
    copy = probe(path_of(playback.playback(store, mid)))
    assert copy.video_codec == "h264" and abs(copy.duration_s - 20.0) < 0.05


@pytest.mark.slow
def test_run_reuses_the_copy_and_never_waits_for_the_worker(
    tmp_path: Path, clips: Path, long_clip: Path
) -> None:
    from genesis_pipeline.runs.options import RunOptions
    from genesis_pipeline.runs.pipeline import ProjectPipelineService

    home = tmp_path / "home"
    store = store_for(home, caption_model=str(tmp_path / "none"), offline="1")
    pid, (small, long) = project_with(store, clips / "mpeg4 part2.mp4", long_clip)
    with store.db.read() as con:
        small_media = media_sql.get(con, small)
    assert playback.ensure_proxy(store, get_project(store, pid), small_media).status == "made"
    first = Path(path_of(playback.playback(store, small)))
    # A background worker is busy with the long clip when the run starts.
    worker = spawn(home, "make-proxies", "--project-id", str(pid), "-q")
    try:
        deadline = time.monotonic() + 60
        while playback.playback(store, long).state != "preparing":
            assert time.monotonic() < deadline and worker.poll() is None, worker.communicate()
            time.sleep(0.05)
        # When the worker exits, seen from a thread (the run goes on with the later steps,
        # which on a busy machine may outlast the worker's copy).
        worker_ended: list[datetime] = []

        def watch() -> None:
            worker.wait(300)
            worker_ended.append(datetime.now())

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
        step = next(d for d in report.step_details if d["step"] == "proxies")
        assert report.status == "succeeded", report.error
        # The worker's copy is left to it: no second encode, no waiting for it.
        assert step["counts"]["made"] == 0 and step["counts"]["cache_hits"] == 1
        assert step["counts"]["in_background"] == 1, step
        assert "being made in the background: long mpeg4.mp4" in step["note"]
        assert step["duration_s"] < 2.0
        watcher.join(300)
        assert worker.returncode == 0, worker.communicate()
        # the step had ended while the worker was still copying
        assert datetime.fromisoformat(step["ended_at"]) < worker_ended[0]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
    assert Path(path_of(playback.playback(store, small))) == first
    # Everything made: the next run's step is a cache hit throughout and encodes nothing.
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    step = next(d for d in report.step_details if d["step"] == "proxies")
    assert step["cache_hit"] and step["counts"]["made"] == 0 and step["counts"]["cache_hits"] == 2
    assert playback.playback(store, long).state == "proxy"


def test_runs_make_missing_copies(tmp_path: Path, clips: Path) -> None:
    """With no app and no worker (CLI users), the run's own step makes the copy."""
    from genesis_pipeline.runs.options import RunOptions
    from genesis_pipeline.runs.pipeline import ProjectPipelineService

    store = store_for(tmp_path / "home", caption_model=str(tmp_path / "none"), offline="1")
    pid, (m4, h264) = project_with(store, clips / "mpeg4 part2.mp4", clips / "h264.mp4")
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    names = [d["step"] for d in report.step_details]
    assert names[:3] == ["media", "proxies", "transcribe"]
    step = report.step_details[1]
    assert step["status"] == "ok" and not step["cache_hit"]
    assert step["counts"] == {
        "media": 2,
        "needed": 1,
        "made": 1,
        "cache_hits": 0,
        "in_background": 0,
        "failed": 0,
    }
    assert playback.playback(store, m4).state == "proxy"
    assert playback.playback(store, h264).state == "source"


def test_migration_on_an_existing_data_dir(tmp_path: Path, clips: Path) -> None:
    """A data dir made without media_proxies (every migration but 2, media already in it:
    today's upload code needs the later migrations' columns) opens, gains the table, and its
    footage gets copies."""
    home = tmp_path / "old-home"
    script = f"""
import genesis_pipeline.store.db as db
all_but_2 = [m for m in db._migrations() if m[0] != 2]
db._migrations = lambda: all_but_2
from genesis_pipeline.config import Settings
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.services.access import cli_actor
from genesis_pipeline.store import Store
from pathlib import Path
store = Store(Settings(home=Path({str(home)!r})))
pid = create_project(store, "old", actor=cli_actor()).id
add_media(store, pid, [{str(clips / "mpeg4 part2.mp4")!r}], actor=cli_actor())
"""
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ})
    store = Store(Settings(home=home))
    import duckdb

    con = duckdb.connect(str(home / "genesis.duckdb"), read_only=True)
    try:
        before = [r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()]
        assert 1 in before and 2 not in before
        assert "media_proxies" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    (pb,) = playback.project_playback(store, 1)  # the first read applies migration 2 only
    assert pb.state == "queued"
    with store.db.read() as con:
        versions = [r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()]
        assert scalar(con, "SELECT count(*) FROM media_files") == 1
    assert sorted(versions) == sorted([*before, 2])
    assert [o.status for o in make_project_proxies(store, 1)] == ["made"]
    assert playback.project_playback(store, 1)[0].state == "proxy"
