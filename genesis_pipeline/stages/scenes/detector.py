"""Driving PySceneDetect's detectors frame by frame from our own decode loop.

Imported lazily by :mod:`genesis_pipeline.stages.scenes.detect` (it pulls in OpenCV). The
detectors get PTS-backed ``FrameTimecode`` objects (PySceneDetect 0.7), so ``min_scene_len`` is
measured in real seconds on variable-rate footage; a bounded ``StatsManager`` keeps the metrics
of the last frames so the score at each reported cut (``content_val`` / ``adaptive_ratio``) can
be read back.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from scenedetect import FrameTimecode, StatsManager
from scenedetect.common import Timecode
from scenedetect.detectors import AdaptiveDetector, ContentDetector

if TYPE_CHECKING:
    import av.video.frame

    from genesis_pipeline.stages.scenes.params import SceneParams


class _FastScore:
    """``ContentDetector``'s frame score, the same numbers for a fraction of the work.

    With a zero edge weight (the default) the score is the weighted mean of the per-channel
    mean absolute HSV differences between consecutive frames. The library splits the HSV image
    into planes and takes each plane's distance in numpy through int32 copies (most of the
    detector's time: ``docs/scenes.md``); here one ``cv2.absdiff`` and one ``cv2.sumElems`` on
    the interleaved image give the three exact integer sums. The library also computes Canny
    edges whenever a ``StatsManager`` is attached, even with a zero edge weight; that is
    skipped. With a non-zero edge weight the library's own code runs unchanged.
    """

    _weights: ContentDetector.Components
    stats_manager: StatsManager | None
    FRAME_SCORE_KEY: str
    _last_hsv: np.ndarray[Any, Any] | None = None

    def _calculate_frame_score(
        self, timecode: FrameTimecode, frame_img: np.ndarray[Any, Any]
    ) -> float:
        weights = self._weights
        if weights.delta_edges != 0:
            return super()._calculate_frame_score(timecode, frame_img)  # type: ignore[misc, no-any-return]
        hsv = cv2.cvtColor(frame_img, cv2.COLOR_BGR2HSV)
        last, self._last_hsv = self._last_hsv, hsv
        if last is None:
            return 0.0
        pixels = float(hsv.shape[0] * hsv.shape[1])
        dh, ds, dv, _ = cv2.sumElems(cv2.absdiff(hsv, last))
        components = ContentDetector.Components(
            delta_hue=dh / pixels, delta_sat=ds / pixels, delta_lum=dv / pixels, delta_edges=0.0
        )
        score: float = sum(c * w for c, w in zip(components, weights, strict=True)) / sum(
            abs(w) for w in weights
        )
        if self.stats_manager is not None:
            metrics = {self.FRAME_SCORE_KEY: score, **components._asdict()}
            self.stats_manager.set_metrics(timecode, metrics)
        return score


class _Content(_FastScore, ContentDetector):  # type: ignore[misc]
    pass


class _Adaptive(_FastScore, AdaptiveDetector):  # type: ignore[misc]
    pass


class _RecentStats(StatsManager):  # type: ignore[misc]
    """A ``StatsManager`` that keeps only the metrics of the last ``keep`` frames."""

    def __init__(self, keep: int, traced: str) -> None:
        super().__init__()
        self._keep = keep
        self._recent: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._traced = traced
        # Values of the traced metric set since the last drain, with their frame's timecode.
        self.fresh: list[tuple[FrameTimecode, float]] = []

    def set_metrics(self, timecode: FrameTimecode, metric_kv_dict: dict[str, Any]) -> None:
        self._recent.setdefault(timecode.pts, {}).update(metric_kv_dict)
        value = metric_kv_dict.get(self._traced)
        if value is not None:
            self.fresh.append((timecode, float(value)))
        while len(self._recent) > self._keep:
            self._recent.popitem(last=False)

    def get_metrics(self, timecode: FrameTimecode, metric_keys: Iterable[str]) -> list[Any]:
        metrics = self._recent.get(timecode.pts, {})
        return [metrics.get(k) for k in metric_keys]


class Detector:
    """One PySceneDetect detector, its bounded metrics, and the key of its cut score."""

    def __init__(self, params: SceneParams, fps: float) -> None:
        threshold = params.effective_threshold
        min_len = float(params.min_scene_len_s)
        if params.detector == "adaptive":
            self.detector: Any = _Adaptive(adaptive_threshold=threshold, min_scene_len=min_len)
            self.score_key = next(
                k for k in self.detector.get_metrics() if k.startswith("adaptive_ratio")
            )
            window = int(self.detector.window_width)
        else:
            self.detector = _Content(threshold=threshold, min_scene_len=min_len)
            self.score_key = ContentDetector.FRAME_SCORE_KEY
            window = 0
        # Frames a cut can be reported behind the current one: the merge filter reports a cut
        # up to min_scene_len late, and its event_buffer_length assumes at most 240 fps.
        behind = max(int(self.detector.event_buffer_length), math.ceil(min_len * fps))
        self.look_back = behind + 2 * window + 2
        self.stats = _RecentStats(keep=self.look_back + 2, traced=self.score_key)
        self.detector.stats_manager = self.stats
        self.trace_name = "adaptive_ratio" if params.detector == "adaptive" else "content_val"

    def process(self, timecode: FrameTimecode, image: np.ndarray[Any, Any]) -> list[FrameTimecode]:
        return list(self.detector.process_frame(timecode, image))

    def finish(self, timecode: FrameTimecode | None) -> list[FrameTimecode]:
        if timecode is None:
            return []
        return list(self.detector.post_process(timecode))

    def drain_scores(self) -> list[tuple[FrameTimecode, float]]:
        """The cut scores set since the last call (each frame's, possibly a window late)."""
        fresh, self.stats.fresh = self.stats.fresh, []
        return fresh

    def score_at(self, timecode: FrameTimecode) -> float | None:
        value = self.stats.get_metrics(timecode, [self.score_key])[0]
        return None if value is None else float(value)


class FrameClock:
    """Frame numbers and PTS-based times of decoded frames, relative to the first frame.

    Presentation times come from each frame's PTS (variable frame rate gives true times); a frame
    without PTS, or whose PTS does not advance, is placed one nominal frame after the previous.
    Only the last ``keep`` frames can be looked up by timecode.
    """

    def __init__(self, rate: Fraction, keep: int) -> None:
        self.rate = rate
        self.keep = keep
        self.count = 0
        self.time_base: Fraction | None = None
        self._first_pts = 0
        self._use_pts = True
        self._last_rel = -1
        self._step = 1
        self._index_by_pts: OrderedDict[int, tuple[int, float]] = OrderedDict()
        self.last_timecode: FrameTimecode | None = None
        self.last_time_s = 0.0

    def tick(self, frame: av.video.frame.VideoFrame) -> tuple[int, FrameTimecode, float]:
        """Register the next decoded frame; returns its index, timecode and time in seconds."""
        if self.time_base is None:
            tb, pts0 = frame.time_base, frame.pts
            if pts0 is not None and tb is not None and tb > 0:
                self.time_base = Fraction(tb.numerator, tb.denominator)
                self._first_pts = pts0
            else:
                self._use_pts = False  # no timestamps at all: nominal frame times
                self.time_base = 1 / self.rate
            self._step = max(1, round(1 / (self.rate * self.time_base)))
        pts = frame.pts if self._use_pts else None
        rel = self._last_rel + self._step if pts is None else pts - self._first_pts
        if rel <= self._last_rel:
            rel = self._last_rel + self._step
        self._last_rel = rel
        index = self.count
        self.count += 1
        time_s = float(rel * self.time_base)
        timecode = FrameTimecode(Timecode(pts=rel, time_base=self.time_base), fps=self.rate)
        self._index_by_pts[rel] = (index, time_s)
        while len(self._index_by_pts) > self.keep:
            self._index_by_pts.popitem(last=False)
        self.last_timecode = timecode
        self.last_time_s = time_s
        return index, timecode, time_s

    def lookup(self, timecode: FrameTimecode) -> tuple[int, float] | None:
        """``(index, time_s)`` of a recent frame by its timecode, or None if it is too old."""
        return self._index_by_pts.get(timecode.pts)
