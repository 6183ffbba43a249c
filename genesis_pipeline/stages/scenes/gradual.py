"""A classical pass for gradual transitions and flashes, beside PySceneDetect's cut detectors.

PySceneDetect's detectors compare neighbouring frames, so a dissolve, fade or wipe, which spreads
its change over many frames, rarely crosses their threshold, and a flash of one or two white
frames looks like two cuts. This pass watches a small thumbnail of each frame (its mean absolute
difference to the previous one, ``step``) and uses the "twin comparison" idea (Zhang et al.,
1993):

* a run of frames whose step is above a low threshold (a multiple of the recent steps, so a
  busy or grainy shot raises it) is a candidate; it is a gradual transition when it lasts at
  least :data:`MIN_FRAMES`, no longer than :data:`MAX_TRANSITION_S` (a pan or zoom keeps going
  much longer), and the picture after it differs from the one before it by at least
  :data:`MIN_CHANGE` (a shot that only shook, or a flash, comes back);
* a cut from the cut detector is dropped when the picture a few frames later is the one before
  it again (a flash), and is merged into a gradual transition it lies inside;
* a cut that fires while a run has begun (the picture was already changing) may lie inside a
  fade: the run is followed on, against the threshold in force before the cut, and when it
  passes through a plain frame and ends in another picture it is the fade, the cut merged in
  (``ContentDetector`` fires on the steep middle of a fade through black).

The new scene starts at the middle of a gradual transition. Each transition gets a style
(:func:`style_of`): a ``fade`` passes through a plain frame, a ``wipe`` shows each part of the
picture as the old shot or the new one, a ``dissolve`` blends them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from statistics import median
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from genesis_pipeline.stages.scenes.result import Found

if TYPE_CHECKING:
    from scenedetect import FrameTimecode

    from genesis_pipeline.stages.scenes.detector import Detector

# Thumbnail the pass compares: small enough that grain and small moving details average out.
THUMB = (32, 18)
# A step is "moving" above max(LOW_ABS, LOW_RATIO x the median step of the last second).
LOW_ABS = 1.5
LOW_RATIO = 2.0
# Motion of a new shot watched before a run may start in it (its first frames set its baseline).
BASELINE_MIN_S = 0.3
# A transition lasts from MIN_FRAMES frames up to MAX_TRANSITION_S seconds.
MIN_FRAMES = 4
MAX_TRANSITION_S = 2.0
# Mean absolute thumbnail difference (0-255) between the pictures either side of a transition.
MIN_CHANGE = 18.0
# A run whose pictures travel more than 1/MIN_DIRECTNESS times the change it makes is camera
# motion, unless it passes through a plain frame (standard deviation under PLAIN_STD): a fade.
# Measured on benchmarks.detectors: dissolves and wipes 0.79 to 1.1, fades through black 0.32 to
# 1.0, a whip pan 0.31.
MIN_DIRECTNESS = 0.5
PLAIN_STD = 12.0
# Quiet frames that end a run (one quiet frame inside a slow dissolve does not).
QUIET_FRAMES = 2
# Telling a wipe from a dissolve, in the middle frame of the transition, over the thumbnail
# values that change by at least WIPE_MIN_DIFF: a value within WIPE_SETTLED of the change from
# the old picture or the new is "settled"; a wipe has at least WIPE_SHARE of them settled, a
# dissolve's blend about none (measured on benchmarks.detectors: docs/scenes.md).
WIPE_MIN_DIFF = 30.0
WIPE_SETTLED = 0.25
WIPE_SHARE = 0.5
# A flash is over within this many frames; the picture after it is the one before it.
FLASH_FRAMES = 4
# ...when it differs from the picture before by less than this share of the flash's jump.
FLASH_RETURN = 0.35


def thumbnail(small_bgr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return cv2.resize(small_bgr, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)


def distance(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    return float(cv2.norm(a, b, cv2.NORM_L1)) / a.size


def is_plain(thumb: np.ndarray[Any, Any]) -> bool:
    """A frame of one colour (black or white, say): what a fade passes through."""
    return float(thumb.std()) < PLAIN_STD


def style_of(
    before: np.ndarray[Any, Any], middle: np.ndarray[Any, Any], after: np.ndarray[Any, Any]
) -> str:
    """``dissolve`` or ``wipe``: how a transition's middle frame mixes the pictures either side
    of it (thumbnails); a fade is told by its plain frame (:func:`is_plain`) before this."""
    change = np.abs(after - before)
    changed = change >= WIPE_MIN_DIFF
    if not changed.any():
        return "dissolve"
    near = np.minimum(np.abs(middle - before), np.abs(middle - after))
    settled = float((near[changed] <= WIPE_SETTLED * change[changed]).mean())
    return "wipe" if settled >= WIPE_SHARE else "dissolve"


class ClassicDetector:
    """A PySceneDetect cut detector with the gradual and flash pass, reporting :class:`Found`."""

    def __init__(
        self,
        cuts: Detector,
        fps: float,
        min_scene_frames: int,
        place: Callable[[FrameTimecode], tuple[int, float] | None],
    ) -> None:
        self.cuts = cuts
        self.place = place
        self.min_scene_frames = max(1, min_scene_frames)
        self.max_frames = max(MIN_FRAMES + 1, round(MAX_TRANSITION_S * fps))
        self.baseline_frames = max(5, round(fps))
        keep = self.max_frames + self.baseline_frames + FLASH_FRAMES + 4
        self.look_back = cuts.look_back + keep
        self.thumbs: deque[np.ndarray[Any, Any]] = deque(maxlen=keep)
        self.steps: deque[float] = deque(maxlen=keep)
        self.count = 0
        self.run_start: int | None = None  # first frame of the open run of moving steps
        self.quiet = 0
        self.pending: list[tuple[int, float | None]] = []  # cuts waiting for the flash check
        # Steps before this frame belong to another shot (a cut): not part of the baseline.
        self.baseline_from = 0
        self.min_baseline = max(3, round(BASELINE_MIN_S * fps))
        self.last_split = 0
        self.low = LOW_ABS  # the moving threshold of the last frame
        # The first frame of a run a cut cut short (perhaps a fade), the threshold then in force,
        # and the quiet frames since.
        self.watch: int | None = None
        self.watch_low = LOW_ABS
        self.watch_quiet = 0
        # (frame, step, moving threshold or None before a baseline) since the last drain.
        self.fresh: list[tuple[int, float, float | None]] = []

    def drain_scores(self) -> list[tuple[int, float, float | None]]:
        """Each frame's step and the threshold it was compared with, since the last call."""
        fresh, self.fresh = self.fresh, []
        return fresh

    def _cut_at(self, index: int, score: float | None) -> None:
        self.pending.append((index, score))
        if self.run_start is not None and self.run_start >= index - 2:
            if self.run_start < index and self.watch is None:
                # The picture was changing before the cut: follow on, in case it is a fade.
                self.watch, self.watch_low, self.watch_quiet = self.run_start, self.low, 0
            self.run_start, self.quiet = None, 0  # the run was the cut itself and what follows
        if index > self.baseline_from:
            self.baseline_from = index

    def _step(self, index: int) -> float:
        return self.steps[index - (self.count - len(self.steps))]

    def _thumb(self, index: int) -> np.ndarray[Any, Any]:
        return self.thumbs[index - (self.count - len(self.thumbs))]

    def _has(self, index: int) -> bool:
        return self.count - len(self.thumbs) <= index < self.count

    def process(self, timecode: FrameTimecode, small_bgr: np.ndarray[Any, Any]) -> list[Found]:
        """Take the next frame; boundaries that became certain, in order."""
        index = self.count
        thumb = thumbnail(small_bgr)
        step = distance(thumb, self.thumbs[-1]) if self.thumbs else 0.0
        self.thumbs.append(thumb)
        self.steps.append(step)
        self.count += 1
        found: list[Found] = []
        for cut in self.cuts.process(timecode, small_bgr):
            placed = self.place(cut)
            if placed is not None:
                self._cut_at(placed[0], self.cuts.score_at(cut))
        if self.watch is not None:
            found += self._follow_watch(index, step)
        # The baseline is the shot's own motion: steps since the last cut, the last second.
        since = max(self.baseline_from + 1, index - self.baseline_frames)
        recent = [self.steps[k - self.count + len(self.steps)] for k in range(since, index)]
        if len(recent) < self.min_baseline and self.run_start is None:
            self.fresh.append((index, step, None))
            return found + self._flush(final=False)
        low = max(LOW_ABS, LOW_RATIO * median(recent)) if recent else LOW_ABS
        self.low = low
        self.fresh.append((index, step, low))
        if step > low:
            if self.run_start is None:
                self.run_start = index
            self.quiet = 0
        elif self.run_start is not None:
            self.quiet += 1
            if self.quiet >= QUIET_FRAMES:
                found += self._close_run(index - self.quiet + 1)
        if self.run_start is not None and index - self.run_start > self.max_frames:
            self.run_start = None  # camera motion, not a transition: it went on too long
        found += self._flush(final=False)
        return found

    def finish(self, timecode: FrameTimecode | None) -> list[Found]:
        found: list[Found] = []
        if timecode is not None:
            for cut in self.cuts.finish(timecode):
                placed = self.place(cut)
                if placed is not None:
                    self._cut_at(placed[0], self.cuts.score_at(cut))
        if self.run_start is not None:
            found += self._close_run(self.count - self.quiet)
        if self.watch is not None:
            found += self._close_watch(self.count - self.watch_quiet)
        return found + self._flush(final=True)

    def _follow_watch(self, index: int, step: float) -> list[Found]:
        assert self.watch is not None
        if step > self.watch_low:
            self.watch_quiet = 0
        else:
            self.watch_quiet += 1
            if self.watch_quiet >= QUIET_FRAMES:
                return self._close_watch(index - self.watch_quiet + 1)
        if index - self.watch > self.max_frames:
            self.watch = None  # it went on too long: the cut stands
        return []

    def _close_watch(self, end: int) -> list[Found]:
        """The run a cut cut short has ended at ``end``: a fade (the cut merged in) when it
        passes through a plain frame and ends in another picture; else the cut stands."""
        start, self.watch = self.watch, None
        assert start is not None
        if end - start < MIN_FRAMES or not (self._has(start - 1) and self._has(end)):
            return []
        if distance(self._thumb(start - 1), self._thumb(end)) < MIN_CHANGE:
            return []
        if not any(is_plain(self._thumb(k)) for k in range(start, end)):
            return []
        return self._transition(start, end, "fade")

    def _close_run(self, end: int) -> list[Found]:
        """The run of moving frames ``[run_start, end)`` has ended: a transition or nothing."""
        start, self.run_start, self.quiet = self.run_start, None, 0
        assert start is not None
        if end - start < MIN_FRAMES or not (self._has(start - 1) and self._has(end)):
            return []
        change = distance(self._thumb(start - 1), self._thumb(end))
        if change < MIN_CHANGE:
            return []
        # A dissolve or wipe goes straight from one picture to the other (its steps add up to
        # about the change); a fade goes through a plain black or white frame. A pan or zoom
        # wanders: its steps add up to much more than where it ends, and no frame is plain.
        travelled = sum(self._step(k) for k in range(start, end))
        fade = any(is_plain(self._thumb(k)) for k in range(start, end))
        if change < MIN_DIRECTNESS * travelled and not fade:
            return []
        if fade:
            return self._transition(start, end, "fade")
        middle = self._thumb((start + end) // 2)
        return self._transition(
            start, end, style_of(self._thumb(start - 1), middle, self._thumb(end))
        )

    def _transition(self, start: int, end: int, style: str) -> list[Found]:
        """A gradual transition over frames ``[start, end)``, the cuts inside it merged in.

        The run's steps mix both pictures: its first moving step goes into frame ``start``, its
        last into frame ``end - 1``; the new scene starts at the middle.
        """
        split = (start + end) // 2
        merged = [c for c in self.pending if start - 2 <= c[0] <= end + 2]
        self.pending = [c for c in self.pending if c not in merged]
        score = max((s for _, s in merged if s is not None), default=None)
        return self._emit([Found(split, start, end, score, style=style)])

    def _flush(self, *, final: bool) -> list[Found]:
        """Cuts whose flash check can be made (enough frames after them), unless a run that
        could absorb them is still open."""
        out: list[Found] = []
        keep: list[tuple[int, float | None]] = []
        for index, score in self.pending:
            ready = final or index + FLASH_FRAMES < self.count
            in_run = self.run_start is not None and index >= self.run_start - 2
            in_run |= self.watch is not None and index >= self.watch - 2
            if not ready or (in_run and not final):
                keep.append((index, score))
                continue
            if self._is_flash(index):
                continue
            out.append(Found(index, index, index, score))
        self.pending = keep
        return self._emit(out)

    def _is_flash(self, index: int) -> bool:
        """Whether the cut at ``index`` starts or ends a flash: the picture a few frames on
        (or a few frames back) is the one on the other side of the jump again."""
        if not (self._has(index - 1) and self._has(index)):
            return False
        before, after = self._thumb(index - 1), self._thumb(index)
        bar = FLASH_RETURN * distance(before, after)
        for k in range(1, FLASH_FRAMES + 1):
            if self._has(index + k) and distance(before, self._thumb(index + k)) < bar:
                return True  # the flash starts here
            if self._has(index - 1 - k) and distance(after, self._thumb(index - 1 - k)) < bar:
                return True  # the flash ends here
        return False

    def _emit(self, found: list[Found]) -> list[Found]:
        out = []
        for f in sorted(found, key=lambda f: f.split):
            if f.split - self.last_split < self.min_scene_frames:
                continue
            self.last_split = f.split
            out.append(f)
        return out
