"""When each frame of a video stream is presented, read from its packets (no decoding).

Frame ``n`` is the ``n``-th picture a decoder outputs (presentation order), as scene detection
and trimming by frame number count them. Times are *container time*: seconds from the
container's start, the clock ffmpeg's input seek (``-ss``) and its timestamps use.

A stream is constant-rate when every frame sits on one rate's grid to within a tick of its time
base (container rounding, such as 30000/1001 fps in milliseconds). Variable-rate footage
(phones, screen recordings, cameras that drop frames) *counts as* a standard rate for choosing
a render's frame rate: the one nearest its peak rate, the rate of its shortest quarter of frame
intervals. A phone clip at 30 fps that slows to 20 in low light counts as 30 (its average would
say 27); frames alternating 1/24 and 1/12 s count as 24 (the average says 16, which would drop
every other picture of the fast stretches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from genesis_pipeline.errors import InvalidMediaError

STANDARD_RATES: tuple[Fraction, ...] = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
    Fraction(48),
    Fraction(50),
    Fraction(60000, 1001),
    Fraction(60),
    Fraction(120000, 1001),
    Fraction(120),
)
"""Delivery frame rates (film, PAL, NTSC and their doubles): what variable-rate footage counts
as, and what a nearly-matching constant rate is snapped to."""

_PEAK_QUANTILE = 25  # percent: the shortest quarter of the intervals gives the peak rate


@dataclass(frozen=True, slots=True)
class FrameTimes:
    """Presentation times of a stream's frames.

    Attributes:
        times: container time of every frame, in presentation order.
        end_s: when the last frame ends (its time plus its duration).
        rate: the frame rate when constant, else None.
        nominal_rate: ``rate`` when constant, else the standard rate the footage counts as.
    """

    times: tuple[float, ...]
    end_s: float
    rate: Fraction | None
    nominal_rate: Fraction

    @property
    def frames(self) -> int:
        return len(self.times)

    @property
    def is_constant(self) -> bool:
        return self.rate is not None

    def time(self, n: int) -> float:
        """When frame ``n`` is presented; ``end_s`` from one past the last frame on."""
        return self.times[n] if 0 <= n < len(self.times) else self.end_s

    def span(self, start: int, end: int) -> float:
        """How long frames ``[start, end)`` are on screen."""
        return self.time(end) - self.time(start)


def read_frame_times(path: Path, stream_index: int) -> FrameTimes:
    """Demux the video stream ``stream_index`` of ``path`` and time its frames.

    Raises:
        InvalidMediaError: the file cannot be read, or the stream has no timed packets.
    """
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InvalidMediaError(path, f"cannot be opened as media ({exc})") from None
    with container:
        stream = container.streams[stream_index]
        tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        start = container.start_time / 1e6 if container.start_time is not None else 0.0
        hints = [Fraction(r) for r in (stream.base_rate, stream.average_rate) if r]
        pts: list[int] = []
        last: tuple[int, int] = (-(2**62), 0)  # (pts, duration) of the latest frame
        try:
            for packet in container.demux(stream):
                # Empty packets flush; discarded ones (edit lists) are never shown.
                if packet.size == 0 or packet.pts is None or packet.is_discard:
                    continue
                pts.append(packet.pts)
                if packet.pts >= last[0]:
                    last = (packet.pts, packet.duration or 0)
        except (av.error.FFmpegError, ValueError) as exc:
            raise InvalidMediaError(path, f"video cannot be read ({exc})") from None
    if not pts:
        raise InvalidMediaError(path, "video stream has no timed frames")
    ticks = np.sort(np.asarray(pts, dtype=np.int64))
    rate = constant_rate(ticks, tb, hints)
    intervals = np.diff(ticks)
    if last[1] > 0:
        duration = last[1] * float(tb)
    elif rate is not None:
        duration = float(1 / rate)
    elif intervals.size:
        duration = float(np.median(intervals)) * float(tb)
    else:
        duration = float(1 / hints[0]) if hints else 1 / 25
    times = ticks.astype(np.float64) * float(tb) - start
    nominal = rate if rate is not None else peak_standard_rate(intervals * float(tb))
    return FrameTimes(
        times=tuple(times.tolist()),
        end_s=float(times[-1]) + duration,
        rate=rate,
        nominal_rate=nominal,
    )


def constant_rate(
    ticks: np.ndarray, time_base: Fraction, hints: list[Fraction] | tuple[Fraction, ...] = ()
) -> Fraction | None:
    """The rate whose grid holds every frame to within one tick, or None (variable rate).

    ``hints`` (the container's own rates) are tried first, then :data:`STANDARD_RATES`, then
    the measured rate, so container rounding does not turn 30000/1001 into 29.969.
    """
    n = int(ticks.size)
    if n < 2:
        return None
    span = int(ticks[-1] - ticks[0])
    if span <= 0:
        return None
    measured = Fraction(n - 1) / (Fraction(span) * time_base)
    index = np.arange(n, dtype=np.float64)
    offsets = (ticks - ticks[0]).astype(np.float64)
    candidates: list[Fraction] = [
        *hints,
        *STANDARD_RATES,
        measured.limit_denominator(1001),
        measured,
    ]
    for rate in candidates:
        if rate <= 0 or abs(rate / measured - 1) > 0.01:
            continue
        step = float(1 / (rate * time_base))  # ticks per frame
        if float(np.max(np.abs(offsets - index * step))) <= 1.0 + 1e-6:
            return rate
    return None


def peak_standard_rate(intervals_s: np.ndarray) -> Fraction:
    """The standard rate nearest the peak rate of variable-rate frames (see the module's
    docstring); 30 fps when there are no intervals to go by."""
    positive = intervals_s[intervals_s > 0]
    if positive.size == 0:
        return Fraction(30)
    peak = 1.0 / float(np.percentile(positive, _PEAK_QUANTILE))
    return min(STANDARD_RATES, key=lambda r: abs(math.log(float(r) / peak)))
