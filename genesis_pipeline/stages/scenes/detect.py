"""Scene detection: hard cuts found by PySceneDetect's detectors, with preview frames.

Each file's video is decoded once (:mod:`~genesis_pipeline.stages.scenes.decode`, a worker
thread). Every frame is downscaled for the detector (``ContentDetector`` or
``AdaptiveDetector``, driven frame by frame with PTS-based timecodes, so variable-rate footage
gets true times: :mod:`~genesis_pipeline.stages.scenes.detector`), and a bounded set of
candidate frames of the current scene is kept
(:mod:`~genesis_pipeline.stages.scenes.previews`) to write evenly spaced, upright JPEG previews
when each scene closes. Nothing is held per frame beyond the detector's own look-back. Its cost
against decoding alone: ``docs/scenes.md``.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.media.streams import picture_stream
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.stages.scenes.decode import decode_frames, short_reason
from genesis_pipeline.stages.scenes.params import SceneParams
from genesis_pipeline.stages.scenes.previews import (
    PreviewSampler,
    PreviewWriter,
    pick,
    preview_name,
    preview_size,
)
from genesis_pipeline.stages.scenes.result import Found, Scene, SceneList, Transition, confidence
from genesis_pipeline.stages.scenes.trace import TRACE_FILE, TraceRecorder

if TYPE_CHECKING:
    import av.container
    import av.video.frame
    import av.video.stream
    import numpy as np
    from scenedetect import FrameTimecode

    from genesis_pipeline.stages.scenes.detector import Detector
    from genesis_pipeline.stages.scenes.gradual import ClassicDetector
    from genesis_pipeline.stages.scenes.neural import NeuralDetector

log = logging.getLogger(__name__)

VERSION = 3
# Frame times kept for placing a transition's start and end (a neural batch reports late).
_TIMES_KEPT = 4096


def detect_scenes(
    video: Path,
    out_dir: Path,
    params: SceneParams = SceneParams(),  # noqa: B008 (frozen: never mutated)
    progress: Progress = no_progress,
    device: str = "auto",
) -> SceneList:
    """Detect the scenes of ``video`` and write their previews into ``out_dir``.

    Args:
        video: a file with a video stream.
        out_dir: folder for the preview JPEGs (created, even when no preview is asked for).
        params: detection and preview settings.
        progress: ``(frames_done, frames_expected, note)`` callback.
        device: where the neural detector runs (``auto``, ``cpu``, ``cuda``); the classical
            detectors run on the CPU.

    Returns:
        The scenes, covering every decoded frame, in order.

    Raises:
        InvalidMediaError: the file is missing, not media, has no video stream (audio-only), or
            no frame of it can be decoded.
        InvalidSettingError: ``cuda`` asked for with no CUDA device visible (transnetv2).
    """
    import av

    video = Path(video)
    if not video.exists():
        raise InvalidMediaError(video, "file does not exist")
    if not video.is_file():
        raise InvalidMediaError(video, "not a regular file")
    try:
        container = av.open(str(video), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidMediaError(video, f"cannot be opened as media ({short_reason(exc)})") from None
    with container:
        stream = _video_stream(container, video)
        rate = _frame_rate(stream, video)
        expected = _expected_frames(stream, rate)
        sar = stream.sample_aspect_ratio
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)  # exists even when no preview is asked for
        detector = _make_detector(params, float(rate), device)
        run = _Pass(video, out_dir, params, rate, float(sar) if sar else 1.0, detector)
        if params.gradual and params.detector != "transnetv2":
            from genesis_pipeline.stages.scenes.detector import Detector
            from genesis_pipeline.stages.scenes.gradual import ClassicDetector

            assert isinstance(detector, Detector)
            run.use_classic(
                ClassicDetector(
                    detector,
                    float(rate),
                    round(params.min_scene_len_s * float(rate)),
                    run.clock.lookup,
                )
            )
        note = f"scenes {video.name}"
        # Closed inside `with container`: the decoding thread must stop before the file closes.
        with contextlib.closing(
            decode_frames(container, stream, video, params.downscale_width)
        ) as items:
            for n, (frame, small) in enumerate(items):
                run.frame(frame, small)
                if n % 250 == 0:
                    progress(n, max(expected, n), note)
        result = run.finish()
    progress(result.frame_count, result.frame_count, note)
    log.info(
        "%s: %d scenes in %d frames (%s detector)",
        video.name,
        len(result.scenes),
        result.frame_count,
        params.detector,
    )
    return result


def _make_detector(params: SceneParams, fps: float, device: str) -> Detector | NeuralDetector:
    # Imported here: they pull in OpenCV, PySceneDetect or torch, which the CLI and app need not
    # load.
    if params.detector == "transnetv2":
        from genesis_pipeline.ml.transnet import load_transnet, plan_transnet
        from genesis_pipeline.stages.scenes.neural import NeuralDetector

        net = load_transnet(plan_transnet(device))
        min_frames = round(params.min_scene_len_s * fps)
        return NeuralDetector(net, params.effective_threshold, min_frames)
    from genesis_pipeline.stages.scenes.detector import Detector

    return Detector(params, fps)


def _video_stream(
    container: av.container.InputContainer, video: Path
) -> av.video.stream.VideoStream:
    stream = picture_stream(container)
    if stream is None:
        what = "audio-only" if container.streams.audio else "no audio or video"
        raise InvalidMediaError(video, f"has no video stream ({what}); scenes need video")
    stream.thread_type = "AUTO"
    return stream


def _frame_rate(stream: av.video.stream.VideoStream, video: Path) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if rate is None or not (math.isfinite(fps) and 0.0 < fps <= 1000.0):
        raise InvalidMediaError(video, "video stream has no usable frame rate")
    return Fraction(rate.numerator, rate.denominator)


def _expected_frames(stream: av.video.stream.VideoStream, rate: Fraction) -> int:
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        return round(stream.duration * stream.time_base * rate)
    return 0


class _Pass:
    """State of one detection pass: frame clock, detector, open scene, preview sampler."""

    def __init__(
        self,
        video: Path,
        out_dir: Path,
        params: SceneParams,
        rate: Fraction,
        sar: float,
        detector: Detector | NeuralDetector,
    ) -> None:
        from genesis_pipeline.stages.scenes.detector import FrameClock
        from genesis_pipeline.stages.scenes.neural import NeuralDetector

        self.video = video
        self.out_dir = out_dir
        self.params = params
        self.fps = float(rate)
        self.sar = sar
        self.detector = detector
        self.neural = detector if isinstance(detector, NeuralDetector) else None
        self.classic = None if isinstance(detector, NeuralDetector) else detector
        look_back = self.classic.look_back if self.classic is not None else 0
        self.clock = FrameClock(rate, keep=look_back + 2)
        self.times: OrderedDict[int, float] = OrderedDict()
        self.with_gradual: ClassicDetector | None = None
        # Made on the first frame, when its size and rotation are known.
        self.sampler: PreviewSampler | None = None
        self.writer: PreviewWriter | None = None
        self.scenes: list[Scene] = []
        self.scene_start = 0
        self.scene_start_s = 0.0
        self.scene_score: float | None = None
        self.scene_transition: Transition | None = None
        self.last_frame_duration_s = 1.0 / self.fps
        self.trace = TraceRecorder(params.detector)
        if self.classic is not None:
            self.trace.series(self.classic.trace_name, params.effective_threshold)
        else:
            from genesis_pipeline.stages.scenes.neural import TRANSITION_THRESHOLD

            self.trace.series("transnet_single", params.effective_threshold)
            self.trace.series("transnet_transition", TRANSITION_THRESHOLD)

    def frame(self, frame: av.video.frame.VideoFrame, small: np.ndarray[Any, Any]) -> None:
        index, timecode, time_s = self.clock.tick(frame)
        self.times[index] = time_s
        self.trace.time(index, time_s)
        while len(self.times) > _TIMES_KEPT:
            self.times.popitem(last=False)
        sampler = self.sampler or self._start(frame)
        sampler.offer(index, time_s, frame)
        if frame.duration and frame.time_base:
            self.last_frame_duration_s = float(frame.duration * frame.time_base)
        if self.neural is not None:
            for found in self.neural.process(small):
                self._found(found)
        elif self.with_gradual is not None:
            for found in self.with_gradual.process(timecode, small):
                self._found(found)
        else:
            assert self.classic is not None
            for cut in self.classic.process(timecode, small):
                self._cut(cut)
        self._record_scores()

    def _record_scores(self) -> None:
        """Move the scores the detectors computed since the last frame into the trace."""
        if self.classic is not None:
            name = self.classic.trace_name
            for tc, value in self.classic.drain_scores():
                placed = self.clock.lookup(tc)
                if placed is not None:
                    self.trace.set(name, placed[0], value)
        if self.with_gradual is not None:
            for index, step, low in self.with_gradual.drain_scores():
                self.trace.set("gradual_step", index, step)
                self.trace.set("gradual_low", index, low)

    def use_classic(self, detector: ClassicDetector) -> None:
        """Report boundaries through the gradual and flash pass around the cut detector."""
        self.with_gradual = detector
        self.clock.keep = max(self.clock.keep, detector.look_back + 2)
        self.trace.series("gradual_step")
        self.trace.series("gradual_low")

    def time_of(self, index: int) -> float:
        """Presentation time of a recent frame (nominal, from the frame rate, if too old)."""
        if index >= self.clock.count:
            return self.clock.last_time_s + (index - self.clock.count + 1) / self.fps
        found = self.times.get(index)
        return found if found is not None else index / self.fps

    def _start(self, frame: av.video.frame.VideoFrame) -> PreviewSampler:
        rotation = int(frame.rotation or 0) % 360
        size = preview_size(
            frame.width, frame.height, rotation, self.params.preview_width, self.sar
        )
        self.writer = PreviewWriter(rotation, self.params.preview_quality, size)
        self.sampler = PreviewSampler(size, self.params.previews_per_scene, self.fps)
        return self.sampler

    def _cut(self, cut: FrameTimecode) -> None:
        found = self.clock.lookup(cut)
        if found is None:
            log.warning("%s: ignored a cut reported too late to place (%r)", self.video, cut)
            return
        if found[0] <= self.scene_start:
            return  # the start of the file or of the open scene: not a new cut
        index, time_s = found
        assert self.classic is not None
        score = self.classic.score_at(cut)
        cut_here = Transition("cut", index, index, time_s, time_s)
        self._close(index, time_s, score, cut_here)

    def _found(self, found: Found) -> None:
        if found.split <= self.scene_start:
            return
        transition = Transition(
            found.kind,
            found.start,
            found.end,
            self.time_of(found.start),
            self.time_of(found.end),
            found.probability,
            found.style if found.kind == "gradual" else None,
        )
        self._close(found.split, self.time_of(found.split), found.score, transition)

    def _close(
        self, end: int, end_s: float, next_score: float | None, closing: Transition | None
    ) -> None:
        assert self.sampler is not None and self.writer is not None
        i = len(self.scenes)
        n = self.params.previews_per_scene
        candidates = self.sampler.split(end)
        # Previews come from the frames no transition touches, where there are any.
        lo = self.scene_transition.end_frame if self.scene_transition else self.scene_start
        hi = closing.start_frame if closing else end
        clean = [c for c in candidates if lo <= c.index < hi]
        # A very short scene may have no candidate of its own: the nearest one will do.
        chosen = pick(clean or candidates or self.sampler.pool, lo, max(hi, lo + 1), n)
        names = []
        for k, cand in enumerate(chosen, start=1):
            name = preview_name(i, k)
            self.writer.write(self.out_dir / name, cand)
            names.append(name)
        self.scenes.append(
            Scene(
                index=i,
                start_frame=self.scene_start,
                end_frame=end,
                start_s=self.scene_start_s,
                end_s=end_s,
                cut_score=self.scene_score,
                confidence=self._confidence(),
                previews=tuple(names),
                preview_times_s=tuple(c.time_s for c in chosen),
                transition=self.scene_transition,
            )
        )
        self.scene_start, self.scene_start_s, self.scene_score = end, end_s, next_score
        self.scene_transition = closing

    def _confidence(self) -> float:
        t = self.scene_transition
        if t is not None and t.probability is not None:
            return t.probability
        return confidence(self.scene_score, self.params.effective_threshold)

    def finish(self) -> SceneList:
        if self.neural is not None:
            for found in self.neural.finish():
                self._found(found)
        elif self.with_gradual is not None:
            for found in self.with_gradual.finish(self.clock.last_timecode):
                self._found(found)
        else:
            assert self.classic is not None
            for cut in self.classic.finish(self.clock.last_timecode):
                self._cut(cut)
        if self.neural is not None:
            for i, (one, many) in enumerate(zip(self.neural.single, self.neural.many, strict=True)):
                self.trace.set("transnet_single", i, one)
                self.trace.set("transnet_transition", i, many)
        else:
            self._record_scores()
        end_s = self.clock.last_time_s + self.last_frame_duration_s
        self._close(self.clock.count, end_s, None, None)
        self.trace.trace().write(self.out_dir / TRACE_FILE)
        return SceneList(
            scenes=tuple(self.scenes),
            fps=self.fps,
            frame_count=self.clock.count,
            duration_s=end_s,
            params=self.params,
            trace=TRACE_FILE,
        )
