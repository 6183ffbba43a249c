"""TransNet V2 fed from the scene stage's single decode, window by window as frames arrive.

Each decoded frame's small BGR copy is scaled once more to the network's 48x27 RGB and
buffered; as soon as enough frames have arrived for a batch of windows (``WINDOW`` frames each,
``STEP`` apart, padded at both ends with the first and last frame as the authors do), the
batch runs and the frames no later window needs are dropped. Memory stays bounded by a batch
of windows whatever the length of the file.

Boundaries come from the per-frame probabilities: a run of frames whose shot-end probability
is above the threshold is one boundary, peaking at its most likely frame. The network's
transition head (the probability that a frame lies inside a transition) gives the extent: the
frames around the peak above :data:`TRANSITION_THRESHOLD`. One or two such frames make a cut
(the new scene starts after the peak, the network marks a shot's last frame); more make a
gradual transition, split at its middle.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from genesis_pipeline.ml.transnet import CONTEXT, HEIGHT, STEP, WIDTH, WINDOW
from genesis_pipeline.stages.scenes.result import Found

if TYPE_CHECKING:
    from genesis_pipeline.ml.transnet import TransNet

log = logging.getLogger(__name__)

# A frame is inside a transition when the transition head says so at least this surely.
TRANSITION_THRESHOLD = 0.5
# A transition of at most this many frames is a cut (a hard cut marks one or two).
CUT_FRAMES = 2


class NeuralDetector:
    """Streams frames to TransNet V2 and reports boundaries in frame indices."""

    def __init__(self, net: TransNet, threshold: float, min_scene_frames: int) -> None:
        self.net = net
        self.threshold = threshold
        self.min_scene_frames = max(1, min_scene_frames)
        self.batch = max(1, net.plan.batch_windows)
        # Padded frames kept; padded frame i is buffer[i - base].
        self.buffer: list[np.ndarray[Any, Any]] = []
        self.base = 0
        self.next_window = 0  # padded index where the next window starts
        self.count = 0
        self.single: list[float] = []
        self.many: list[float] = []
        self.decided = 0  # frames before this are turned into boundaries already
        self.last_split = 0

    @property
    def probabilities(self) -> list[float]:
        """The shot-end probability of every frame predicted so far."""
        return list(self.single)

    def process(self, small_bgr: np.ndarray[Any, Any]) -> list[Found]:
        """Take the next frame (its small BGR copy); boundaries that became certain."""
        rgb = cv2.cvtColor(
            cv2.resize(small_bgr, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA),
            cv2.COLOR_BGR2RGB,
        )
        if self.count == 0:
            self.buffer.extend([rgb] * CONTEXT)
        self.buffer.append(rgb)
        self.count += 1
        if self._available() >= self.next_window + (self.batch - 1) * STEP + WINDOW:
            self._run(self.batch)
            return self._boundaries(final=False)
        return []

    def finish(self) -> list[Found]:
        """Predict the frames still buffered (padding the end); the remaining boundaries."""
        if not self.count:
            return []
        covered = CONTEXT + self.count
        pad = CONTEXT + STEP - (self.count % STEP or STEP)
        self.buffer.extend([self.buffer[-1]] * pad)
        windows = (covered + pad - WINDOW - self.next_window) // STEP + 1
        while windows > 0:
            self._run(min(windows, self.batch))
            windows -= self.batch
        del self.single[self.count :], self.many[self.count :]
        return self._boundaries(final=True)

    def _available(self) -> int:
        return self.base + len(self.buffer)

    def _run(self, windows: int) -> None:
        starts = [self.next_window + k * STEP - self.base for k in range(windows)]
        batch = np.stack([np.stack(self.buffer[s : s + WINDOW]) for s in starts])
        one, many = self.net.predict(batch)
        for k in range(windows):
            self.single.extend(float(p) for p in one[k, CONTEXT : CONTEXT + STEP])
            self.many.extend(float(p) for p in many[k, CONTEXT : CONTEXT + STEP])
        self.next_window += windows * STEP
        drop = self.next_window - self.base
        del self.buffer[:drop]
        self.base += drop

    def _boundaries(self, *, final: bool) -> list[Found]:
        known = min(len(self.single), self.count)
        found: list[Found] = []
        i = self.decided
        thr = self.threshold
        while i < known:
            if self.single[i] <= thr:
                i += 1
                continue
            j = i
            while j + 1 < known and self.single[j + 1] > thr:
                j += 1
            if j + 1 >= known and not final:
                break  # the run may go on in frames not predicted yet
            b = self._boundary(i, j, known)
            if b is not None:
                found.append(b)
            i = j + 1
        self.decided = i
        return found

    def _boundary(self, first: int, last: int, known: int) -> Found | None:
        peak = max(range(first, last + 1), key=lambda k: self.single[k])
        s = e = peak
        while s > 0 and self.many[s - 1] > TRANSITION_THRESHOLD:
            s -= 1
        while e + 1 < known and self.many[e + 1] > TRANSITION_THRESHOLD:
            e += 1
        probability = self.single[peak]
        if e - s + 1 <= CUT_FRAMES:
            split = peak + 1
            start = end = split
        else:
            start, end = s, e + 1
            split = (start + end) // 2
        if split >= self.count or split - self.last_split < self.min_scene_frames:
            return None
        self.last_split = split
        return Found(split, start, end, probability, probability)
