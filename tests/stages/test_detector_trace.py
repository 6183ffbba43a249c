"""The detector's per-frame score kept beside the scenes: one value per frame, the very numbers
the boundaries were decided on, read back exactly, and drawn along the timeline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from genesis_pipeline import viz
from genesis_pipeline.media.synth_edits import EditShot, Join, make_edited_footage
from genesis_pipeline.services.detector_trace import Boundary, MediaTrace
from genesis_pipeline.stages.scenes import SceneParams, detect_scenes
from genesis_pipeline.stages.scenes.trace import (
    TRACE_FILE,
    DetectorTrace,
    Series,
    TraceRecorder,
)


@pytest.fixture(scope="session")
def clip(media_dir: Path):
    """5 s at 25 fps: a 0.6 s dissolve, then a hard cut."""
    return make_edited_footage(
        media_dir / "trace.mp4",
        [EditShot("testsrc2", 1.8), EditShot("smptebars", 1.6), EditShot("rgbtestsrc", 1.8)],
        [Join("dissolve", 0.6, "fade"), Join("cut")],
        fps=25,
    )


@pytest.mark.parametrize(
    ("detector", "gradual", "names"),
    [
        ("adaptive", True, ["adaptive_ratio", "gradual_step", "gradual_low"]),
        ("content", True, ["content_val", "gradual_step", "gradual_low"]),
        ("content", False, ["content_val"]),
    ],
)
def test_classic_trace_holds_the_scores_the_cuts_were_decided_on(
    clip, tmp_path: Path, detector: str, gradual: bool, names: list[str]
) -> None:
    params = SceneParams(detector=detector, gradual=gradual)
    result = detect_scenes(clip.path, tmp_path, params)
    assert result.trace == TRACE_FILE
    trace = DetectorTrace.read(tmp_path / TRACE_FILE)
    assert trace.detector == detector
    assert [s.name for s in trace.series] == names
    n = result.frame_count
    assert len(trace.times_s) == n == clip.frames
    assert trace.times_s[0] == 0 and np.allclose(np.diff(trace.times_s), 1 / 25, atol=1e-4)
    score = trace.series[0]
    assert score.threshold == params.effective_threshold
    assert all(len(s.values) == n for s in trace.series)
    # Every frame the detector scored has its value: not the first (nothing before it to
    # compare with), nor, for the adaptive ratio, the window's 2 frames at either end.
    gaps = np.flatnonzero(np.isnan(score.values)).tolist()
    assert gaps == ([0, 1, n - 2, n - 1] if detector == "adaptive" else [0])
    cuts = [s for s in result.scenes[1:] if s.transition and s.transition.kind == "cut"]
    assert cuts
    for scene in cuts:
        # The cut's stored score is the trace's value at its frame, and it crossed the threshold.
        assert scene.cut_score is not None
        assert score.values[scene.start_frame] == pytest.approx(scene.cut_score, rel=1e-6)
        assert score.values[scene.start_frame] >= score.threshold
    if gradual:
        step, low = trace.get("gradual_step"), trace.get("gradual_low")
        assert step is not None and low is not None and low.threshold is None
        (dissolve,) = [s for s in result.scenes[1:] if s.transition and s.transition.kind != "cut"]
        t = dissolve.transition
        assert t is not None
        inside = slice(t.start_frame, t.end_frame)
        # Through the dissolve the step runs above the moving threshold it is compared with.
        assert (step.values[inside] > low.values[inside]).mean() >= 0.8
        before = slice(5, t.start_frame - 2)
        assert np.nanmax(step.values[before]) < np.nanmin(low.values[before]) + 1e-6


@pytest.mark.slow
def test_transnet_trace_is_the_network_probability(clip, tmp_path: Path) -> None:
    params = SceneParams(detector="transnetv2")
    result = detect_scenes(clip.path, tmp_path, params, device="cpu")
    trace = DetectorTrace.read(tmp_path / TRACE_FILE)
    single, inside = trace.get("transnet_single"), trace.get("transnet_transition")
    assert single is not None and inside is not None
    assert single.threshold == 0.5 and len(single.values) == result.frame_count
    assert np.all((single.values >= 0) & (single.values <= 1))
    cut = result.scenes[-1]
    assert cut.transition is not None and cut.transition.kind == "cut"
    # The network marks a shot's last frame: the cut's probability is the frame before it.
    assert single.values[cut.start_frame - 1] == pytest.approx(cut.confidence, rel=1e-6)
    g = result.scenes[1].transition
    assert g is not None and g.kind == "gradual"
    assert np.all(inside.values[g.start_frame : g.end_frame] > 0.5)


def test_recorder_and_file_round_trip(tmp_path: Path) -> None:
    rec = TraceRecorder("adaptive")
    rec.series("adaptive_ratio", 3.0)
    rec.series("gradual_step")
    for i in range(6):
        rec.time(i, i / 30)
    rec.time(3, 99.0)  # a frame already timed keeps its time
    rec.set("adaptive_ratio", 4, 7.5)  # late, out of order: placed by index
    rec.set("adaptive_ratio", 1, 2.0)
    rec.set("gradual_step", 2, None)  # nothing computed: stays a gap
    trace = rec.trace()
    again = DetectorTrace.from_bytes(trace.to_bytes())
    assert again.detector == "adaptive"
    assert np.array_equal(again.times_s, np.arange(6, dtype=np.float32) / 30)
    ratio = again.series[0].values
    assert ratio[1] == 2.0 and ratio[4] == 7.5 and np.isnan(ratio[[0, 2, 3, 5]]).all()
    assert np.isnan(again.series[1].values).all() and again.series[1].threshold is None
    with pytest.raises(ValueError, match="not a detector trace"):
        DetectorTrace.from_bytes(b"not an npz file")


def _media(n: int, fps: float = 25.0) -> MediaTrace:
    times = (np.arange(n) / fps).astype(np.float32)
    cut = np.zeros(n, np.float32)
    cut[n // 3] = 90.0  # one spike: a cut
    step = np.full(n, 0.5, np.float32)
    step[2 * n // 3 : 2 * n // 3 + 15] = 6.0  # a run: a dissolve
    trace = DetectorTrace(
        "content",
        times,
        (
            Series("content_val", cut, 27.0),
            Series("gradual_step", step),
            Series("gradual_low", np.full(n, 1.5, np.float32)),
        ),
    )
    a, b = float(times[2 * n // 3]), float(times[n // 3])
    bounds = (
        Boundary(1, 1, b, "cut", b, b, 0.9),
        Boundary(2, 2, a + 0.3, "gradual", a, a + 0.6, 0.7),
    )
    return MediaTrace(7, "clip.mp4", trace, bounds)


def test_detector_timeline_draws_scores_thresholds_and_boundaries() -> None:
    fig = viz.detector_timeline(_media(300))
    names = [t.meta for t in fig.data]
    assert names == ["content_val", "gradual_step", "gradual_low"]
    assert [t.yaxis for t in fig.data] == ["y", "y2", "y2"]
    assert len(fig.data[0].x) == 300  # short enough to draw every frame
    shapes = fig.layout.shapes
    # The threshold, a line per boundary, and a band over the gradual one.
    assert any(s.type == "line" and s.y0 == s.y1 == 27.0 for s in shapes)
    bands = [s for s in shapes if s.type == "rect"]  # one per row
    assert [(s.x0, s.x1) for s in bands] == [pytest.approx((8.0, 8.6))] * 2
    assert sum(1 for s in shapes if s.type == "line" and s.x0 == s.x1) >= 2


def test_long_files_are_binned_keeping_every_peak() -> None:
    media = _media(90_000)
    fig = viz.detector_timeline(media, points=1000)
    cut = fig.data[0]
    assert len(cut.x) <= 1000
    assert max(cut.y) == 90.0  # the one-frame spike survives binning
    peak_at = cut.x[int(np.argmax(cut.y))]
    assert math.isclose(peak_at, media.boundaries[0].start_s, abs_tol=1e-3)
