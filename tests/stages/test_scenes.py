"""The scenes stage: cut accuracy against generated ground truth, previews, timing, errors."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from support.metrics import match_cuts

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.media.synth import Footage, Shot, make_footage
from genesis_pipeline.stages.scenes import (
    VERSION,
    Scene,
    SceneList,
    SceneParams,
    confidence,
    detect_scenes,
)
from genesis_pipeline.stages.scenes.previews import PreviewSampler, pick
from genesis_pipeline.stages.scenes.trace import TRACE_FILE

TOLERANCE_S = 0.2
THUMB = (64, 36)


def thumb(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize(THUMB, Image.Resampling.BILINEAR), np.float32)


def mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.fixture(scope="module")
def frames(footage: Footage) -> list[np.ndarray]:
    """Every frame of the footage as a small RGB thumbnail (the reference for previews)."""
    to_rgb = av.video.reformatter.VideoReformatter()
    with av.open(str(footage.path)) as c:
        return [thumb(to_rgb.reformat(f, format="rgb24").to_image()) for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def detected(footage: Footage, tmp_path_factory: pytest.TempPathFactory):
    """Both detectors on the main footage: content with 1 preview, adaptive with 3."""
    out = {}
    for detector, n in (("content", 1), ("adaptive", 3)):
        d = tmp_path_factory.mktemp(f"scenes-{detector}")
        calls: list[tuple[int, int, str]] = []
        params = SceneParams(detector=detector, previews_per_scene=n)
        result = detect_scenes(footage.path, d, params, progress=lambda *a, c=calls: c.append(a))
        out[detector] = (result, d, calls)
    return out


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_every_cut_found_and_no_extra(detected, footage: Footage, detector: str) -> None:
    result, _, _ = detected[detector]
    matched, missed, extra = match_cuts(footage.cuts_s, result.cuts_s, TOLERANCE_S)
    assert not missed, f"{detector} missed cuts at {missed} (found {result.cuts_s})"
    assert not extra, f"{detector} found extra cuts at {extra}"
    assert matched == len(footage.cuts_s) == len(result.scenes) - 1
    # Hard cuts are found on the very frame (the tolerance is for real footage).
    for truth, found in zip(footage.cuts_s, result.cuts_s, strict=True):
        assert abs(found - truth) < 0.5 / footage.fps


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_scenes_tile_the_file_with_frame_times(detected, footage: Footage, detector: str) -> None:
    result, _, calls = detected[detector]
    fps = footage.fps
    assert result.fps == pytest.approx(fps)
    assert result.frame_count == round(footage.duration_s * fps)
    assert result.duration_s == pytest.approx(footage.duration_s)
    assert result.scenes[0].start_frame == 0 and result.scenes[-1].end_frame == result.frame_count
    for i, (a, b) in enumerate(zip(result.scenes, result.scenes[1:], strict=False)):
        assert a.index == i and a.end_frame == b.start_frame and a.end_s == b.start_s
    for s in result.scenes:
        # Constant frame rate: PTS times are exactly frame numbers over the rate.
        assert s.start_s == pytest.approx(s.start_frame / fps, abs=1e-9)
        assert s.end_s == pytest.approx(s.end_frame / fps, abs=1e-9)
    assert calls[-1] == (result.frame_count, result.frame_count, f"scenes {footage.path.name}")
    assert result.params.detector == detector


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_cut_scores_and_confidence(detected, detector: str) -> None:
    result, _, _ = detected[detector]
    threshold = result.params.effective_threshold
    first, *rest = result.scenes
    assert first.cut_score is None and first.confidence == 1.0
    for s in rest:
        assert s.cut_score is not None and s.cut_score >= threshold
        assert 0.5 <= s.confidence <= 1.0
        assert s.confidence == pytest.approx(confidence(s.cut_score, threshold))


def test_confidence_formula() -> None:
    assert confidence(None, 27.0) == 1.0
    assert confidence(27.0, 27.0) == pytest.approx(0.5)
    assert confidence(54.0, 27.0) == pytest.approx(0.8)
    assert confidence(0.0, 3.0) == 0.0


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_previews_come_from_their_own_shot(
    detected, footage: Footage, frames: list[np.ndarray], detector: str
) -> None:
    result, out_dir, _ = detected[detector]
    n = result.params.previews_per_scene
    mids = [frames[(s.start_frame + s.end_frame) // 2] for s in result.scenes]
    for s in result.scenes:
        assert len(s.previews) == len(s.preview_times_s) == n
        assert len(set(s.previews)) == n
        margin = 0.1 * s.duration_s
        for name, t in zip(s.previews, s.preview_times_s, strict=True):
            assert name.startswith(f"scene_{s.index:04d}_") and name.endswith(".jpg")
            assert s.start_s + margin <= t <= s.end_s - margin, "preview too near a cut"
            with Image.open(out_dir / name) as img:
                assert img.format == "JPEG"
                # Never upscaled: the 320x180 source stays 320x180 at preview_width 480.
                assert img.size == (footage.width, footage.height)
                p = thumb(img)
            own = mae(p, frames[round(t * footage.fps)])
            assert own < 6.0, f"scene {s.index}: preview differs from its frame ({own:.1f})"
            for other, ref in enumerate(mids):
                if other != s.index:
                    assert mae(p, ref) > 4 * own + 10, f"scene {s.index} looks like {other}"
    # The previews and the detector's trace, nothing else.
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [*(name for s in result.scenes for name in s.previews), TRACE_FILE]
    )


def test_json_round_trip(detected) -> None:
    result, _, _ = detected["adaptive"]
    again = serde.from_json(SceneList, json.loads(json.dumps(serde.to_json(result))))
    assert again == result
    assert isinstance(again.scenes[1], Scene) and isinstance(again.scenes[1].previews, tuple)
    assert serde.from_json(SceneParams, serde.to_json(SceneParams(threshold=30.0))) == SceneParams(
        threshold=30.0
    )
    # 2: scenes carry their opening transition; 3: the detector trace, transition styles (#17)
    assert VERSION == 3


@pytest.fixture(scope="module")
def rotated(silent_footage: Footage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The silent footage with a 90° display rotation (as a phone shooting portrait writes)."""
    out = tmp_path_factory.mktemp("rotated") / "rotated.mp4"
    run_ffmpeg(
        ["-y", "-display_rotation", "90", "-i", silent_footage.path, "-c", "copy", out],
        what="rotate test clip",
    )
    return out


def test_rotated_clip_gives_upright_previews(
    rotated: Path, silent_footage: Footage, tmp_path: Path
) -> None:
    result = detect_scenes(rotated, tmp_path / "out", SceneParams(preview_width=120))
    _, missed, extra = match_cuts(silent_footage.cuts_s, result.cuts_s, TOLERANCE_S)
    assert not missed and not extra
    for s in result.scenes:
        (name,) = s.previews
        (t,) = s.preview_times_s
        with Image.open(tmp_path / "out" / name) as img:
            assert img.size == (120, 213)  # portrait, upright width 120
            p = thumb(img)
        # ffmpeg rotates by the display matrix on decode: the upright reference frame.
        ref_png = tmp_path / f"ref{s.index}.png"
        run_ffmpeg(["-y", "-ss", f"{t:.3f}", "-i", rotated, "-frames:v", "1", ref_png], what="ref")
        with Image.open(ref_png) as ref_img:
            assert ref_img.height > ref_img.width
            ref = thumb(ref_img)
        upright, upside_down = mae(p, ref), mae(p, ref[::-1, ::-1])
        assert upright < 8.0 and upside_down > 3 * upright + 10, (upright, upside_down)


def test_variable_frame_rate_uses_presentation_times(tmp_path: Path) -> None:
    # 2 s at 25 fps, 2 s at 10 fps, 2 s at 25 fps: frame numbers alone would misplace the cuts.
    clip = tmp_path / "vfr.mp4"
    inputs: list[str] = []
    for src, rate in (("testsrc2", 25), ("smptebars", 10), ("rgbtestsrc", 25)):
        inputs += ["-f", "lavfi", "-i", f"{src}=size=160x90:rate={rate}:duration=2"]
    run_ffmpeg(
        [
            "-y",
            *inputs,
            "-filter_complex",
            "[0:v][1:v][2:v]concat=n=3:v=1[v]",
            "-map",
            "[v]",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            clip,
        ],
        what="vfr test clip",
    )
    result = detect_scenes(clip, tmp_path / "out", SceneParams(previews_per_scene=0))
    assert [s.start_frame for s in result.scenes] == [0, 50, 70]
    assert [s.start_s for s in result.scenes] == pytest.approx([0.0, 2.0, 4.0], abs=1e-3)
    assert result.duration_s == pytest.approx(6.0, abs=1e-3)
    assert all(not s.previews for s in result.scenes)
    # No preview asked for: the folder holds the detector's trace alone.
    assert [p.name for p in (tmp_path / "out").iterdir()] == [TRACE_FILE]


def test_sampler_memory_is_bounded_and_even() -> None:
    frame = av.VideoFrame(64, 36, "yuv420p")
    sampler = PreviewSampler((32, 18), per_scene=1, fps=30.0)
    n = 20_000  # 11 minutes at 30 fps in one scene
    for i in range(n):
        sampler.offer(i, i / 30.0, frame)
        assert len(sampler.pool) <= sampler.capacity
    gaps = np.diff([c.index for c in sampler.pool])
    assert gaps.max() <= 2 * gaps.min()
    (middle,) = pick(sampler.split(n), 0, n, 1)
    assert abs(middle.index - n / 2) <= n / sampler.capacity


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threshold", 0.0),
        ("threshold", -3.0),
        ("threshold", 300.0),
        ("threshold", float("nan")),
        ("min_scene_len_s", -0.1),
        ("min_scene_len_s", float("inf")),
        ("detector", "histogram"),
        ("downscale_width", 8),
        ("previews_per_scene", -1),
        ("preview_width", 0),
        ("preview_quality", 101),
    ],
)
def test_bad_params_name_the_setting(field: str, value: object) -> None:
    with pytest.raises(InvalidSettingError) as err:
        SceneParams(**{field: value})  # type: ignore[arg-type]
    assert err.value.setting == f"scenes.{field}"
    assert f"scenes.{field}" in str(err.value)


def test_audio_only_and_non_media_raise(tmp_path: Path) -> None:
    audio = tmp_path / "voice.m4a"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", audio],
        what="audio-only clip",
    )
    with pytest.raises(InvalidMediaError, match="audio-only") as err:
        detect_scenes(audio, tmp_path / "out")
    assert err.value.path == str(audio)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(InvalidMediaError) as err:
        detect_scenes(text, tmp_path / "out")
    assert err.value.path == str(text)
    with pytest.raises(InvalidMediaError, match="does not exist"):
        detect_scenes(tmp_path / "missing.mp4", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_min_scene_len_merges_short_shots(tmp_path: Path) -> None:
    clip = make_footage(
        tmp_path / "short.mp4",
        [Shot("testsrc2", 1.0), Shot("smptebars", 0.4), Shot("rgbtestsrc", 1.2)],
        size=(160, 90),
        audio=False,
    )
    every = detect_scenes(clip.path, tmp_path / "a", SceneParams(min_scene_len_s=0.2))
    assert match_cuts(clip.cuts_s, every.cuts_s)[0] == 2
    merged = detect_scenes(clip.path, tmp_path / "b", SceneParams(min_scene_len_s=0.6))
    assert len(merged.scenes) == 2
    assert all(s.duration_s >= 0.6 for s in merged.scenes)


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_fast_score_gives_the_library_numbers(footage: Footage, detector: str) -> None:
    # Our detectors compute the HSV difference with two OpenCV calls instead of the library's
    # per-plane numpy code: every metric and every cut must be exactly the library's.
    from fractions import Fraction

    from scenedetect import StatsManager
    from scenedetect.detectors import AdaptiveDetector, ContentDetector

    from genesis_pipeline.stages.scenes.detector import FrameClock, _Adaptive, _Content

    ours, theirs = (
        (_Adaptive(), AdaptiveDetector())
        if detector == "adaptive"
        else (
            _Content(),
            ContentDetector(),
        )
    )
    stats = []
    for d in (ours, theirs):
        d.stats_manager = StatsManager()
        stats.append(d.stats_manager)
    clock = FrameClock(Fraction(footage.fps), keep=10**6)
    cuts: tuple[list[int], list[int]] = ([], [])
    with av.open(str(footage.path)) as c:
        for frame in c.decode(video=0):
            image = frame.reformat(width=160, height=90, format="bgr24").to_ndarray()
            _, timecode, _ = clock.tick(frame)
            for d, found in zip((ours, theirs), cuts, strict=True):
                found += [t.pts for t in d.process_frame(timecode, image)]
    assert cuts[0] == cuts[1] and len(cuts[0]) == len(footage.cuts_s)
    mine, lib = (s._frame_metrics for s in stats)
    assert mine.keys() == lib.keys()
    for key, metrics in lib.items():
        for name, value in metrics.items():
            if name != "delta_edges":  # not computed at a zero edge weight
                assert mine[key][name] == value, (key, name)


def test_previews_of_frames_too_big_to_keep_whole(
    footage: Footage, detected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over the memory budget, candidates are scaled as they are sampled: same choices, same
    # pictures as when whole decoded frames are kept.
    from genesis_pipeline.stages.scenes import previews as scene_previews

    monkeypatch.setattr(scene_previews, "RAW_BUDGET_BYTES", 0)
    whole, whole_dir, _ = detected["adaptive"]
    scaled = detect_scenes(footage.path, tmp_path, whole.params)
    assert scaled == whole
    for s in scaled.scenes:
        for name in s.previews:
            with Image.open(tmp_path / name) as a, Image.open(whole_dir / name) as b:
                assert a.size == b.size
                assert mae(thumb(a), thumb(b)) < 2.0


def test_threaded_decode_is_on_and_its_absence_is_said(
    footage: Footage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """H.264 decodes on several threads (FFmpeg's frame threads); a decoder without threads
    (raw video) is said in a warning instead of running at single-core speed unnoticed."""
    import os

    from genesis_pipeline.stages.scenes.decode import decode_frames, decode_threads

    def threads_of(path: Path) -> int:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            for _ in decode_frames(c, stream, path, 64):
                break
            return decode_threads(stream)

    if (os.cpu_count() or 1) > 1:
        assert threads_of(footage.path) > 1
        assert "one thread" not in caplog.text
    raw = tmp_path / "raw.nut"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=1",
         "-c:v", "rawvideo", raw],
        what="raw video clip",
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        assert threads_of(raw) == 1
    if (os.cpu_count() or 1) > 1:
        assert "raw.nut: its rawvideo video decodes on one thread" in caplog.text
