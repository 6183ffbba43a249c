"""Odd but valid media is accepted and processed correctly in one project."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN
from support.metrics import video_frames_and_duration
from support.oddmedia import odd_media

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.status import project_status
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory):
    files = odd_media(tmp_path_factory.mktemp("odd"))
    home = tmp_path_factory.mktemp("odd-home")
    store = Store(Settings(home=home, caption_model=str(home / "no-such-model"), offline="1"))
    pid = create_project(store, "odd media", actor=ADMIN).id
    added = add_media(store, pid, list(files.values()), actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions())
    by_kind = {kind: a.media for kind, a in zip(files, added, strict=True)}
    return store, pid, report, by_kind, files


def test_run_succeeds(processed) -> None:
    _store, _pid, report, _by_kind, _files = processed
    assert report.status == "succeeded", report.error
    steps = {d["step"]: d for d in report.step_details}
    assert "voice memo" in steps["scenes"]["note"]  # the audio-only file is named
    assert steps["captions"]["status"] == "skipped" and "no-such-model" in steps["captions"]["note"]


def test_probe_facts(processed) -> None:
    _store, _pid, _report, m, _files = processed
    assert not m["no audio"].has_audio and m["no audio"].has_video
    assert m["audio only"].kind == "audio" and not m["audio only"].has_video
    assert m["vfr"].is_vfr
    rot = m["rotated phone clip"]
    assert rot.rotation in (90, 270) and (rot.width, rot.height) == (240, 320)
    ten = m["10-bit 853x480"]
    assert (ten.width, ten.height) == (853, 480) and ten.probe_json["bit_depth"] == 10
    assert m["mkv"].probe_json["container"].startswith("matroska")
    assert m["webm"].video_codec == "vp9"


def test_names_are_sanitised_inside_the_data_dir(processed) -> None:
    store, _pid, _report, m, files = processed
    for kind, media in m.items():
        assert media.original_name == files[kind].name
        stored = store.absolute(media.path).resolve()
        assert store.home in stored.parents, stored
        for bad in ("$", "(", ")", ";", "~", "/", " "):
            assert bad not in media.stored_name, media.stored_name
    assert not Path("pwned").exists()


def test_audio_only_is_transcribed_without_scenes(processed) -> None:
    store, pid, _report, m, _files = processed
    doc = project_status(store, pid)
    audio_id = m["audio only"].id
    (t,) = [t for t in doc["transcripts"] if t["media_id"] == audio_id]
    assert "recording" in t["text"].lower() and "voice" in t["text"].lower()
    assert not [s for s in doc["scenes"] if s["media_id"] == audio_id]
    silent = [t for t in doc["transcripts"] if t["media_id"] == m["no audio"].id]
    assert silent and silent[0]["words"] == []


def test_render_includes_every_video_file(processed) -> None:
    store, pid, report, m, _files = processed
    doc = project_status(store, pid)
    video_ids = {x.id for x in m.values() if x.has_video}
    assert {s["media_id"] for s in doc["scenes"]} == video_ids
    frames, video_s, audio_s = video_frames_and_duration(Path(report.render_path))
    expected = sum(s["end_s"] - s["start_s"] for s in doc["scenes"])
    # The kept scenes' real spans (the VFR clip's too), to half an output frame.
    assert abs(video_s - expected) <= 0.5 * video_s / frames + 1e-3
    assert audio_s is not None and abs(audio_s - video_s) < 0.1
