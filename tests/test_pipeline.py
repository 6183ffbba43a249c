"""The whole pipeline on generated footage: accuracy, caching, re-runs redo only what changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN
from support.metrics import match_cuts, video_frames_and_duration, wer

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService, RunReport
from genesis_pipeline.services.chapters import save_rules
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.status import project_status
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.store import Store

ML_STEPS = ("transcribe", "scenes", "captions")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.tiny_blip import build_tiny_blip

    return build_tiny_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, tiny_blip: Path, footage):
    home = tmp_path_factory.mktemp("pipeline-home")
    store = Store(Settings(home=home, caption_model=str(tiny_blip), offline="1"))
    pid = create_project(store, "pipeline test", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    service = ProjectPipelineService(store)
    first = service.run(pid, RunOptions())
    return store, pid, service, first


def steps(report: RunReport) -> dict[str, dict]:
    return {d["step"]: d for d in report.step_details}


def test_first_run_succeeds_with_every_step(project) -> None:
    _store, _pid, _service, first = project
    assert first.status == "succeeded", first.error
    s = steps(first)
    assert [d["step"] for d in first.step_details] == [
        "media",
        "proxies",
        "transcribe",
        "scenes",
        "captions",
        "chapters",
        "narration",
        "render",
    ]
    for name in ("media", "transcribe", "scenes", "captions", "chapters", "render"):
        assert s[name]["status"] == "ok", s[name]
        assert s[name]["duration_s"] >= 0
        assert "started_at" in s[name] and "ended_at" in s[name]
    assert s["narration"]["status"] == "skipped"
    # H.264/AAC footage plays in browsers as it is: no copy is made.
    assert s["proxies"]["status"] == "skipped" and s["proxies"]["counts"]["needed"] == 0
    assert s["transcribe"]["counts"]["words"] > 20


def test_transcribe_and_scenes_run_at_once(project) -> None:
    """The two steps that need nothing from each other overlap (runs.pipeline.TOGETHER); the
    scenes' speech confidence, which needs the transcript, still waited for it."""
    from datetime import datetime

    _store, _pid, _service, first = project
    s = steps(first)
    t, sc = s["transcribe"], s["scenes"]
    spans = [
        (datetime.fromisoformat(d["started_at"]), datetime.fromisoformat(d["ended_at"]))
        for d in (t, sc)
    ]
    (t0, t1), (s0, s1) = spans
    assert t0 < s1 and s0 < t1, spans  # the two intervals overlap
    assert sc["counts"]["transcript_confidence_updates"] == sc["counts"]["scenes"] > 0


def test_accuracy_against_ground_truth(project, footage) -> None:
    store, pid, _service, _first = project
    doc = project_status(store, pid)
    scenes = doc["scenes"]
    found = [s["start_s"] for s in scenes[1:]]
    _matched, missed, extra = match_cuts(footage.cuts_s, found, 0.2)
    assert not missed and not extra, (missed, extra)
    for s in scenes:
        assert Path(s["preview_path"]).is_file()
        assert s["caption"], s
        assert 0 < s["confidence"]["caption"] <= 1
        assert 0 <= s["confidence"]["detection"] <= 1
    (transcript,) = doc["transcripts"]
    assert wer(footage.script, transcript["text"]) <= 0.35
    words = transcript["words"]
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w["start"] <= w["end"] <= footage.duration_s + 0.05 for w in words)
    with_speech = [s for s in scenes if s["confidence"]["transcript"] is not None]
    assert with_speech and all(0 < s["confidence"]["transcript"] <= 1 for s in with_speech)


def test_chapters_cover_every_scene_once(project) -> None:
    store, pid, _service, _first = project
    doc = project_status(store, pid)
    ids = [sid for ch in doc["chapters"] for sid in ch["scene_ids"]]
    assert sorted(ids) == sorted(s["id"] for s in doc["scenes"])
    assert len(ids) == len(set(ids))


def test_render_lasts_the_approved_scenes(project, footage) -> None:
    store, pid, _service, first = project
    doc = project_status(store, pid)
    assert first.render_path and Path(first.render_path).is_file()
    frames, video_s, audio_s = video_frames_and_duration(Path(first.render_path))
    expected = sum(s["end_frame"] - s["start_frame"] for s in doc["scenes"])
    assert abs(frames - expected) <= 1
    assert audio_s is not None and abs(audio_s - video_s) <= 1 / footage.fps + 0.03


def test_second_run_hits_the_cache_for_every_step(project, monkeypatch: pytest.MonkeyPatch) -> None:
    _store, pid, service, _first = project
    # A cache hit loads no model and runs no stage: any of them called fails the run.
    import genesis_pipeline.ml.blip
    import genesis_pipeline.ml.whisper
    import genesis_pipeline.stages.captions
    import genesis_pipeline.stages.render
    import genesis_pipeline.stages.scenes
    import genesis_pipeline.stages.transcribe

    def called(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a cached step did the work again")

    for module, name in (
        (genesis_pipeline.ml.whisper, "load_whisper"),
        (genesis_pipeline.ml.blip, "load_captioner"),
        (genesis_pipeline.stages.transcribe, "transcribe"),
        (genesis_pipeline.stages.scenes, "detect_scenes"),
        (genesis_pipeline.stages.captions, "caption_scenes"),
        (genesis_pipeline.stages.render, "render_cut"),
    ):
        monkeypatch.setattr(module, name, called)
    again = service.run(pid, RunOptions())
    assert again.status == "succeeded", again.error
    s = steps(again)
    for name in (*ML_STEPS, "chapters", "render"):
        assert s[name]["cache_hit"], s[name]
    assert again.render_path == _first.render_path


def test_rules_change_reruns_only_chapters_and_render(project, footage) -> None:
    store, pid, service, _first = project
    doc = project_status(store, pid)
    save_rules(
        store, pid, Rules(min_chapter_s=4.0, max_chapter_s=8.0, pause_split_s=0.3), actor=ADMIN
    )
    rejected = doc["scenes"][1]
    set_scene_status(store, pid, [rejected["id"]], "rejected", actor=ADMIN)
    report = service.run(pid, RunOptions())
    s = steps(report)
    for name in ML_STEPS:
        assert s[name]["cache_hit"], s[name]
    assert not s["chapters"]["cache_hit"] and s["chapters"]["status"] == "ok"
    assert not s["render"]["cache_hit"] and s["render"]["status"] == "ok"
    doc = project_status(store, pid)
    for ch in doc["chapters"]:
        assert ch["end_s"] - ch["start_s"] <= 8.0 + 1e-6 or len(ch["scene_ids"]) == 1
    frames, _video_s, _ = video_frames_and_duration(Path(report.render_path))
    kept = [s for s in doc["scenes"] if s["id"] != rejected["id"]]
    assert abs(frames - sum(s["end_frame"] - s["start_frame"] for s in kept)) <= 1


def test_detector_trace_is_stored_with_the_scenes_and_comes_from_the_cache(
    project, footage, monkeypatch: pytest.MonkeyPatch
) -> None:
    import genesis_pipeline.stages.scenes
    from genesis_pipeline.services.detector_trace import media_trace, traced_media

    store, pid, _service, _first = project
    doc = project_status(store, pid, include_words=False)
    ((media_id, _name),) = traced_media(store, pid)
    media = media_trace(store, pid, media_id)
    assert media is not None
    scenes = doc["scenes"]
    assert len(media.trace.times_s) == scenes[-1]["end_frame"]
    starts = [s["start_s"] for s in scenes[1:]]
    assert [b.start_s for b in media.boundaries] == pytest.approx(starts)
    assert media.trace.series[0].name == "adaptive_ratio"

    # Another project of the same footage: the scenes come from the stage cache, trace and all.
    def called(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("scenes detected again")

    monkeypatch.setattr(genesis_pipeline.stages.scenes, "detect_scenes", called)
    other = create_project(store, "same footage", actor=ADMIN).id
    add_media(store, other, [footage.path], actor=ADMIN)
    report = ProjectPipelineService(store).run(other, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    assert steps(report)["scenes"]["cache_hit"]
    ((other_media, _),) = traced_media(store, other)
    again = media_trace(store, other, other_media)
    assert again is not None and again.trace.to_bytes() == media.trace.to_bytes()
