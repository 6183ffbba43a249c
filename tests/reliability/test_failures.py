"""ffmpeg or a model failing inside a stage, or a full disk: the run fails with that step's
error; the previous render and all review work stay intact; no partial file in renders/."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.procs import spawn, store_for

from genesis_pipeline.media.ffmpeg import ffmpeg_exe
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.chapters import current_rules, save_rules
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.status import project_status
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.chapters import Rules

pytestmark = pytest.mark.slow


@pytest.fixture()
def reviewed(tmp_path: Path, footage):
    """A processed project with a render, a rejected scene and saved rules."""
    home = tmp_path / "home"
    store = store_for(home, caption_model=str(tmp_path / "none"), offline="1")
    pid = create_project(store, "faults", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    first = ProjectPipelineService(store).run(pid, RunOptions())
    assert first.status == "succeeded"
    doc = project_status(store, pid)
    set_scene_status(store, pid, [doc["scenes"][2]["id"]], "rejected", actor=ADMIN)
    save_rules(store, pid, Rules(min_chapter_s=5.0, max_chapter_s=12.0), note="mine", actor=ADMIN)
    return store, pid, first


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _assert_review_work_intact(store, pid: int, first_render: str) -> None:
    doc = project_status(store, pid)
    assert [s["review_status"] for s in doc["scenes"]].count("rejected") == 1
    assert current_rules(store, pid)[1] == Rules(min_chapter_s=5.0, max_chapter_s=12.0)
    assert Path(first_render).is_file()
    renders = [p for p in (store.home / "renders").rglob("*") if p.is_file()]
    assert renders == [Path(first_render)], renders


def test_ffmpeg_failing_in_render(reviewed, tmp_path: Path) -> None:
    store, pid, first = reviewed
    broken = _script(tmp_path / "ffmpeg", "echo 'Encoder crashed: simulated' >&2\nexit 1\n")
    # A smart render of this cut copies every picture and its sound without ffmpeg at all
    # (tests/stages/test_smart_render.py fails ffmpeg inside one): re-encode, which needs it.
    proc = spawn(
        store.home,
        "process-project",
        "--project-id",
        str(pid),
        "--render-mode",
        "reencode",
        "--json",
        "-q",
        env={"GENESIS_FFMPEG": str(broken), "GENESIS_CAPTION_MODEL": str(tmp_path / "none")},
    )
    _out, _err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    doc = project_status(store, pid)
    steps = {d["step"]: d for d in doc["last_run"]["step_details"]}
    assert steps["render"]["status"] == "failed"
    assert "Encoder crashed: simulated" in steps["render"]["error"]
    assert steps["transcribe"]["cache_hit"] and steps["chapters"]["status"] == "ok"
    _assert_review_work_intact(store, pid, first.render_path)


def test_model_failing_in_transcribe(reviewed, tmp_path: Path) -> None:
    store, pid, first = reviewed
    bad_model = tmp_path / "broken-whisper"
    bad_model.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (bad_model / name).write_text("{}")
    (bad_model / "model.bin").write_bytes(os.urandom(4096))
    transcript_before = project_status(store, pid)["transcripts"]
    proc = spawn(
        store.home,
        "process-project",
        "--project-id",
        str(pid),
        "--json",
        "-q",
        env={
            "GENESIS_WHISPER_MODEL": str(bad_model),
            "GENESIS_CAPTION_MODEL": str(tmp_path / "none"),
        },
    )
    proc.communicate(timeout=300)
    doc = project_status(store, pid)
    steps = {d["step"]: d for d in doc["last_run"]["step_details"]}
    assert doc["last_run"]["status"] == "failed"
    assert steps["transcribe"]["status"] == "failed"
    assert "broken-whisper" in steps["transcribe"]["error"]
    assert steps["render"]["status"] == "not run"
    assert doc["transcripts"] == transcript_before
    _assert_review_work_intact(store, pid, first.render_path)


def test_file_size_limit_mid_render_leaves_no_partial_file(reviewed, tmp_path: Path) -> None:
    """The write fails part-way (EFBIG from a file-size limit, as ENOSPC would)."""
    store, pid, first = reviewed
    limited = _script(
        tmp_path / "ffmpeg", f"trap '' XFSZ\nulimit -f 64\nexec '{ffmpeg_exe()}' \"$@\"\n"
    )
    proc = spawn(
        store.home,
        "process-project",
        "--project-id",
        str(pid),
        "--render-mode",
        "reencode",  # a smart render of this cut writes in-process: see the next test
        "-q",
        env={"GENESIS_FFMPEG": str(limited), "GENESIS_CAPTION_MODEL": str(tmp_path / "none")},
    )
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert "filled up" in err and "renders" in err, err
    _assert_review_work_intact(store, pid, first.render_path)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG])
def test_disk_full_in_smart_render_write_leaves_no_partial_file(
    reviewed, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """The smart render's own writes (PyAV, in-process: copied pictures and sound) fail
    part-way: the step says the disk filled up, nothing is left in renders/."""
    from genesis_pipeline.stages.render import smart as smart_render
    from genesis_pipeline.stages.render.mux import mux as real_mux

    store, pid, first = reviewed

    def mux_then_fail(layout, enc, sound, out) -> None:
        real_mux(layout, enc, sound, out)  # a real, complete file under its temporary name
        raise OSError(code, os.strerror(code), str(out))

    monkeypatch.setattr(smart_render, "mux", mux_then_fail)
    result = ProjectPipelineService(store).run(pid, RunOptions(render_mode="smart"))
    assert result.status == "failed"
    steps = {d["step"]: d for d in project_status(store, pid)["last_run"]["step_details"]}
    assert steps["render"]["status"] == "failed"
    assert "filled up" in steps["render"]["error"]
    _assert_review_work_intact(store, pid, first.render_path)


def _can_mount_tmpfs(target: Path) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(target)], capture_output=True
    )
    return r.returncode == 0


def test_full_disk_is_refused_before_rendering(reviewed, tmp_path: Path) -> None:
    """A real small filesystem under renders/ (tmpfs, where the host allows mounting)."""
    store, pid, first = reviewed
    target = store.home / "renders" / str(pid)
    keep = tmp_path / "previous.mp4"
    shutil.move(first.render_path, keep)
    if not _can_mount_tmpfs(target):
        shutil.move(keep, first.render_path)
        pytest.skip("cannot mount a tmpfs here; covered by the file-size-limit test")
    try:
        shutil.copyfile(keep, first.render_path)
        report = ProjectPipelineService(store).run(pid, RunOptions())
        assert report.status == "failed" and report.error is not None
        assert "not enough free space" in report.error
        assert sorted(p.name for p in target.iterdir()) == [Path(first.render_path).name]
    finally:
        subprocess.run(["umount", str(target)], check=False)
        shutil.move(keep, first.render_path)
