"""The detector's score on every frame, kept beside the scenes: what the Confidence page plots
along the timeline with the boundaries.

Each detector records the numbers it already computes: ``content_val`` or ``adaptive_ratio``
(PySceneDetect's cut score) and, with the gradual pass, its thumbnail step and the moving
threshold it compares the step with; TransNet V2 its two heads (a shot ends here; the frame is
inside a transition). Values are float32, one per frame (NaN where a detector gives none, as
``adaptive_ratio`` for the first and last frames of its window), with each frame's presentation
time, written as one compressed ``.npz`` file (:data:`TRACE_FILE`): 16 bytes a frame before
compression with three series, measured 7.4 after (0.8 MB an hour at 30 fps: docs/scenes.md).
"""

from __future__ import annotations

import io
import json
import math
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TRACE_FILE = "detector_trace.npz"

# Series names, their labels for people and what they measure.
LABELS = {
    "content_val": "content score (HSV change)",
    "adaptive_ratio": "adaptive ratio (change / its neighbours')",
    "gradual_step": "gradual pass: thumbnail step",
    "gradual_low": "gradual pass: moving threshold",
    "transnet_single": "TransNet V2: shot ends here",
    "transnet_transition": "TransNet V2: inside a transition",
}


@dataclass(frozen=True, slots=True)
class Series:
    """One per-frame score: ``values[i]`` belongs to frame ``i``; ``threshold`` is the fixed
    level it is compared with (None when the comparison is with another series)."""

    name: str
    values: np.ndarray[Any, np.dtype[np.float32]]
    threshold: float | None = None

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)


@dataclass(frozen=True, slots=True)
class DetectorTrace:
    """Every frame's presentation time and the detector's scores on it."""

    detector: str
    times_s: np.ndarray[Any, np.dtype[np.float32]]
    series: tuple[Series, ...]

    def get(self, name: str) -> Series | None:
        return next((s for s in self.series if s.name == name), None)

    def to_bytes(self) -> bytes:
        """The trace as a compressed ``.npz`` (no pickled objects: safe to read back)."""
        meta = {
            "detector": self.detector,
            "series": [{"name": s.name, "threshold": s.threshold} for s in self.series],
        }
        arrays: dict[str, np.ndarray[Any, Any]] = {
            "meta": np.array(json.dumps(meta)),
            "times_s": self.times_s,
        }
        arrays.update((f"s{i}", s.values) for i, s in enumerate(self.series))
        buf = io.BytesIO()
        np.savez_compressed(buf, allow_pickle=False, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> DetectorTrace:
        """Read what :meth:`to_bytes` wrote.

        Raises:
            ValueError: not such a file (the stage cache treats it as a miss).
        """
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                times = z["times_s"].astype(np.float32)
                series = tuple(
                    Series(str(m["name"]), z[f"s{i}"].astype(np.float32), m["threshold"])
                    for i, m in enumerate(meta["series"])
                )
        except (OSError, KeyError, TypeError, ValueError) as exc:  # JSONDecodeError included
            raise ValueError(f"not a detector trace ({exc})") from None
        if any(len(s.values) != len(times) for s in series):
            raise ValueError("a detector trace whose series and times differ in length")
        return cls(str(meta["detector"]), times, series)

    def write(self, path: Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def read(cls, path: Path) -> DetectorTrace:
        """Raises: ValueError (see :meth:`from_bytes`); OSError when it cannot be read."""
        return cls.from_bytes(Path(path).read_bytes())


class TraceRecorder:
    """Collects the scores as a pass produces them: frame times in order, scores by frame
    index (possibly late, as the adaptive ratio and the network's windows arrive)."""

    def __init__(self, detector: str) -> None:
        self.detector = detector
        self.times: array[float] = array("d")
        self.values: dict[str, array[float]] = {}
        self.thresholds: dict[str, float | None] = {}

    def series(self, name: str, threshold: float | None = None) -> None:
        """Declare a series (the order of declaration is the order kept)."""
        self.values.setdefault(name, array("f"))
        self.thresholds[name] = threshold

    def time(self, index: int, time_s: float) -> None:
        if index == len(self.times):
            self.times.append(time_s)

    def set(self, name: str, index: int, value: float | None) -> None:
        if value is None or index < 0:
            return
        values = self.values[name]
        if index >= len(values):
            values.extend([math.nan] * (index + 1 - len(values)))
        values[index] = value

    def trace(self) -> DetectorTrace:
        n = len(self.times)
        series = []
        for name, values in self.values.items():
            a = np.full(n, np.nan, dtype=np.float32)
            got = np.frombuffer(values, dtype=np.float32)[:n]
            a[: len(got)] = got
            series.append(Series(name, a, self.thresholds[name]))
        return DetectorTrace(self.detector, np.asarray(self.times, dtype=np.float32), tuple(series))
