"""Gradual transitions: generated edits with exact truth, boundary scoring, TransNet V2 streaming.

The neural detector's windowing is tested with a stand-in network that reads a marker out of
each frame (fast and exact); one test runs the real TransNet V2 on a short clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.media.synth_edits import EditShot, Join, make_edited_footage
from genesis_pipeline.metrics import Span, match_spans
from genesis_pipeline.ml.device import plan_devices
from genesis_pipeline.ml.transnet import (
    CPU_BATCH_WINDOWS,
    CUDA_BATCH_WINDOWS,
    TransNetPlan,
    plan_transnet,
)
from genesis_pipeline.stages.scenes import SceneParams, detect_scenes
from genesis_pipeline.stages.scenes.gradual import style_of
from genesis_pipeline.stages.scenes.neural import NeuralDetector
from genesis_pipeline.storage import StorageAccess


@pytest.fixture(scope="session")
def dissolve_clip(media_dir: Path):
    """4.4 s at 25 fps: a 0.8 s cross-dissolve, then a hard cut."""
    return make_edited_footage(
        media_dir / "dissolve.mp4",
        [EditShot("testsrc2", 1.8), EditShot("smptebars", 1.6), EditShot("rgbtestsrc", 1.8)],
        [Join("dissolve", 0.8, "fade"), Join("cut")],
        fps=25,
    )


def test_edited_footage_truth_matches_the_pictures(dissolve_clip) -> None:
    import av

    with av.open(str(dissolve_clip.path)) as c:
        frames = [f.to_ndarray(format="gray").astype(float) for f in c.decode(video=0)]
    assert len(frames) == dissolve_clip.frames == 45 + 40 + 45 - 20
    diss, cut = dissolve_clip.boundaries
    assert (diss.kind, diss.start, diss.end) == ("dissolve", 25, 45)
    assert (cut.kind, cut.start, cut.end) == ("cut", 65, 65)
    step = [float(np.abs(frames[i] - frames[i - 1]).mean()) for i in range(1, len(frames))]
    # The cut is the one big jump, at exactly its frame; inside the dissolve every step is small
    # and the pictures keep changing all through it.
    assert int(np.argmax(step)) + 1 == cut.start
    inside = step[diss.start : diss.end - 1]
    assert max(inside) < step[cut.start - 1] / 3
    assert np.abs(frames[diss.start - 1] - frames[diss.end]).mean() > 4 * max(inside)


def test_bad_joins_are_refused(tmp_path: Path) -> None:
    shots = [EditShot("testsrc2", 1.0), EditShot("smptebars", 1.0)]
    with pytest.raises(ValueError, match="need 1 joins"):
        make_edited_footage(tmp_path / "x.mp4", shots, [])
    with pytest.raises(ValueError, match="as long as a shot"):
        make_edited_footage(tmp_path / "x.mp4", shots, [Join("dissolve", 1.0)])
    with pytest.raises(ValueError, match="unknown kind"):
        make_edited_footage(tmp_path / "x.mp4", shots, [Join("morph", 0.2)])


def test_span_matching_scores_like_the_benchmarks() -> None:
    truth = [Span(10, 10), Span(40, 60), Span(100, 100)]
    # A cut 2 frames late matches; any boundary inside the dissolve matches it; 5 frames off a
    # cut does not; a boundary nowhere near anything is extra.
    m = match_spans(truth, [Span(12, 12), Span(50, 50), Span(105, 105), Span(200, 200)], 2)
    assert (m.matched, m.missed, m.extra) == (2, (100.0,), (105.0, 200.0))
    assert m.precision == pytest.approx(0.5) and m.recall == pytest.approx(2 / 3)
    # A detected transition overlapping the true one matches; one found boundary counts once.
    m = match_spans([Span(40, 60), Span(61, 61)], [Span(30, 45)], 2)
    assert m.matched == 1 and m.found == 1


@pytest.mark.parametrize(
    ("requested", "cuda", "torch_cuda", "device", "batch"),
    [
        ("auto", 0, False, "cpu", CPU_BATCH_WINDOWS),
        ("auto", 1, True, "cuda", CUDA_BATCH_WINDOWS),
        ("auto", 1, False, "cpu", CPU_BATCH_WINDOWS),  # a CPU build of torch: the CPU
        ("cpu", 1, True, "cpu", CPU_BATCH_WINDOWS),
        ("cuda", 2, True, "cuda", CUDA_BATCH_WINDOWS),
    ],
)
def test_transnet_device_plan(
    requested: str, cuda: int, torch_cuda: bool, device: str, batch: int
) -> None:
    plan = plan_transnet(requested, cuda_count=cuda, torch_cuda=torch_cuda)
    assert plan == TransNetPlan(device, batch)


def test_transnet_follows_the_device_the_other_models_use(monkeypatch) -> None:
    import genesis_pipeline.ml.device

    # auto asks the check Whisper and BLIP are planned with, not torch.
    monkeypatch.setattr(genesis_pipeline.ml.device, "cuda_device_count", lambda: 0)
    assert plan_transnet("auto").device == "cpu"
    assert plan_devices("auto").device == "cpu"


def test_transnet_device_plan_refuses_what_cannot_run() -> None:
    with pytest.raises(InvalidSettingError, match="no CUDA device"):
        plan_transnet("cuda", cuda_count=0)
    with pytest.raises(InvalidSettingError, match="torch has no CUDA"):
        plan_transnet("cuda", cuda_count=1, torch_cuda=False)
    with pytest.raises(InvalidSettingError, match="must be one of"):
        plan_transnet("tpu", cuda_count=0)


def test_the_scenes_step_passes_genesis_device(monkeypatch, tmp_path: Path) -> None:
    from genesis_pipeline.runs.executor import tasks

    seen: list[str] = []

    def fake(video, out, params, progress, device):
        seen.append(device)
        raise RuntimeError("stop here")

    monkeypatch.setattr("genesis_pipeline.stages.scenes.detect_scenes", fake)
    clip = tmp_path / "x.mp4"
    clip.write_bytes(b"")
    access = StorageAccess(root=str(tmp_path))  # local storage: the locator is the path
    with pytest.raises(RuntimeError, match="stop here"):
        tasks.detect_scenes_in(access, str(clip), SceneParams(), "k" * 64, "cpu")
    assert seen == ["cpu"]


class _MarkerNet:
    """Stands in for TransNet V2: a frame's red channel says its shot-end probability (/255)
    and its green channel whether it lies in a transition; records each batch's size."""

    def __init__(self, batch_windows: int) -> None:
        self.plan = TransNetPlan("cpu", batch_windows)
        self.batches: list[int] = []

    def predict(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert windows.shape[1:] == (100, 27, 48, 3) and windows.dtype == np.uint8
        self.batches.append(windows.shape[0])
        return windows[..., 0].mean(axis=(2, 3)) / 255, windows[..., 1].mean(axis=(2, 3)) / 255


def _marked_frames(n: int, ends: dict[int, float], transitions: list[range]) -> list:
    frames = []
    for i in range(n):
        bgr = np.zeros((36, 64, 3), np.uint8)
        bgr[..., 2] = round(ends.get(i, 0.0) * 255)  # red, in BGR order
        bgr[..., 1] = 255 if any(i in r for r in transitions) else 0
        frames.append(bgr)
    return frames


@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("n", [37, 150, 263])
def test_neural_windows_cover_every_frame_once(batch: int, n: int) -> None:
    # A cut after frame 20 (the network marks a shot's last frame), a dissolve over 90..109.
    ends = {20: 0.9, 100: 0.8} if n > 120 else {20: 0.9}
    transitions = [range(20, 21), range(90, 110)]
    net = _MarkerNet(batch)
    det = NeuralDetector(net, threshold=0.5, min_scene_frames=5)  # type: ignore[arg-type]
    found = []
    for f in _marked_frames(n, ends, transitions):
        found += det.process(f)
    found += det.finish()
    probs = det.probabilities
    assert len(probs) == n
    assert [round(p, 2) for p in probs] == [round(ends.get(i, 0.0), 2) for i in range(n)]
    assert found[0].split == 21 and found[0].kind == "cut"
    if n > 120:
        g = found[1]
        assert (g.kind, g.start, g.end, g.split) == ("gradual", 90, 110, 100)
        assert g.probability == pytest.approx(0.8, abs=0.01)
    assert len(found) == (2 if n > 120 else 1)
    assert all(b <= batch for b in net.batches)


def test_transnet_threshold_is_a_probability() -> None:
    with pytest.raises(InvalidSettingError, match="probability"):
        SceneParams(detector="transnetv2", threshold=2.0)
    assert SceneParams(detector="transnetv2").effective_threshold == 0.5


@pytest.mark.slow
def test_transnetv2_finds_the_dissolve_and_the_cut(dissolve_clip, tmp_path: Path) -> None:
    result = detect_scenes(
        dissolve_clip.path, tmp_path, SceneParams(detector="transnetv2"), device="cpu"
    )
    diss, cut = dissolve_clip.boundaries
    kinds = [s.transition.kind if s.transition else None for s in result.scenes[1:]]
    assert kinds == ["gradual", "cut"]
    g = result.scenes[1].transition
    assert g is not None
    # The transition's extent overlaps the true one and the scene starts inside it.
    assert g.start_frame < diss.end and g.end_frame > diss.start
    assert g.start_frame <= result.scenes[1].start_frame < g.end_frame
    assert abs(result.scenes[1].start_frame - diss.middle) <= 3
    assert abs(result.scenes[2].start_frame - cut.start) <= 1
    assert result.scenes[2].confidence > 0.8
    # No preview comes from inside a transition.
    fps = dissolve_clip.fps
    for s in result.scenes:
        for t in s.preview_times_s:
            assert not (g.start_frame <= round(t * fps) < g.end_frame)


@pytest.fixture(scope="session")
def edits_clip(media_dir: Path):
    """8.4 s at 25 fps: a dissolve, a fade through black, a wipe, then a shot with a flash and
    a dark grainy shot after a cut."""
    return make_edited_footage(
        media_dir / "edits.mp4",
        [
            EditShot("testsrc2", 2.0),
            EditShot("smptebars", 2.0),
            EditShot("mandelbrot", 2.0),
            EditShot("rgbtestsrc", 2.4, "flash"),
            EditShot("testsrc", 2.0, "dark"),
        ],
        [
            Join("dissolve", 0.6, "fade"),
            Join("fade", 0.6, "fadeblack"),
            Join("wipe", 0.5, "wipeleft"),
            Join("cut"),
        ],
        fps=25,
    )


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_gradual_pass_finds_every_transition_and_ignores_the_flash(
    edits_clip, tmp_path: Path, detector: str
) -> None:
    from benchmarks.detectors import TOLERANCE_FRAMES, found_spans

    result = detect_scenes(edits_clip.path, tmp_path, SceneParams(detector=detector, gradual=True))
    truth = [Span(b.start, b.end) for b in edits_clip.boundaries]
    m = match_spans(truth, found_spans(result), TOLERANCE_FRAMES)
    assert (m.matched, m.missed, m.extra) == (4, (), ())
    kinds = [s.transition.kind if s.transition else None for s in result.scenes[1:]]
    # ContentDetector fires inside the fade through black: the pass follows the run it cut
    # short through the black frame, and the boundary is the fade, not a cut.
    expected = ["gradual", "gradual", "gradual", "cut"]
    assert kinds == expected
    # And each gradual one is told for what it is.
    labels = [s.transition.label if s.transition else None for s in result.scenes[1:]]
    assert labels == ["dissolve", "fade", "wipe", "cut"]
    for scene, b, kind in zip(result.scenes[1:], edits_clip.boundaries, expected, strict=True):
        t = scene.transition
        assert t is not None
        if kind == "gradual":
            # Split inside the transition, near its middle; previews outside every transition.
            assert t.start_frame <= scene.start_frame < t.end_frame
            assert abs(scene.start_frame - b.middle) <= 3
    spans = [(t.start_frame, t.end_frame) for s in result.scenes[1:] if (t := s.transition)]
    for s in result.scenes:
        for when in s.preview_times_s:
            f = round(when * edits_clip.fps)
            assert not any(a <= f < z for a, z in spans)
    # Without the pass the classical detectors miss the wipe at least.
    plain_params = SceneParams(detector=detector, gradual=False)
    plain = detect_scenes(edits_clip.path, tmp_path / "plain", plain_params)
    assert match_spans(truth, found_spans(plain), TOLERANCE_FRAMES).matched < 4


def test_style_tells_a_wipe_from_a_dissolve() -> None:
    rng = np.random.default_rng(7)
    before = rng.uniform(0, 255, (18, 32, 3)).astype(np.float32)
    after = rng.uniform(0, 255, (18, 32, 3)).astype(np.float32)
    blend = 0.5 * before + 0.5 * after
    wiped = before.copy()
    wiped[:, 16:] = after[:, 16:]
    assert style_of(before, blend, after) == "dissolve"
    assert style_of(before, wiped, after) == "wipe"
    # A third of the way through a dissolve is still a blend; nothing changing is no wipe.
    assert style_of(before, 0.67 * before + 0.33 * after, after) == "dissolve"
    assert style_of(before, before, before) == "dissolve"
