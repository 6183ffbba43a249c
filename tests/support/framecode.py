"""Footage whose every frame says who it is, at any frame times (constant or variable rate).

Each picture carries a 16-bit code (4 bits of clip id, 12 of frame number) as two rows of
eight black/white blocks, so a rendered frame can be traced back to its source frame by
content. The sound is band-limited noise (different for every clip): cross-correlation
against the source finds its offset to the sample, with no ambiguity at pitch periods.

``measure`` decodes a render and compares every output frame's time with its source frame's
time on the cut's clock (each kept piece starts where the real spans of the pieces before it
end), and each piece's sound with the source's at the same place.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from genesis_pipeline.media.audio_analysis import decode_audio
from genesis_pipeline.media.probe import probe
from genesis_pipeline.stages.timeline import CutSegment

SR = 48000
_TB = Fraction(1, 120000)  # holds 1/24, 1/25, 1/30, 1001/30000, 1001/24000 exactly
_ROWS, _COLS = 2, 8


@dataclass(frozen=True)
class CodedClip:
    """A generated clip: frame ``i`` is presented at ``times[i]`` (seconds from the first frame)
    and the last one lasts until ``end_s``."""

    path: Path
    clip: int
    times: tuple[float, ...]
    end_s: float
    width: int
    height: int
    has_audio: bool = True

    @property
    def frames(self) -> int:
        return len(self.times)

    @property
    def fps(self) -> float:
        """The frame rate the probe stores for the file."""
        fps = probe(self.path).fps
        assert fps is not None
        return fps

    def time(self, n: int) -> float:
        """Start of frame ``n`` (``end_s`` for one past the last)."""
        return self.end_s if n >= len(self.times) else self.times[n]

    def segment(self, start: int, end: int) -> CutSegment:
        """Frames ``[start, end)`` as the pipeline gives them: the scenes stage's real times, the
        probe's frame rate (the average, for variable-rate footage)."""
        return CutSegment(
            media_key=self.path.stem,
            media_path=self.path,
            start_frame=start,
            end_frame=end,
            fps=self.fps,
            start_s=self.time(start),
            end_s=self.time(end),
            has_audio=self.has_audio,
            width=self.width,
            height=self.height,
        )


def cfr_times(frames: int, rate: Fraction) -> tuple[list[float], float]:
    return [float(i / rate) for i in range(frames)], float(frames / rate)


def alternating_times(
    frames: int, short: float = 1 / 24, long: float = 1 / 12
) -> tuple[list[float], float]:
    """Frames lasting ``short`` and ``long`` in turn (a VFR phone clip at its extreme)."""
    times, t = [], 0.0
    for i in range(frames):
        times.append(t)
        t += short if i % 2 == 0 else long
    return times, t


def dropped_times(slots: int, rate: int, dropped: Sequence[int]) -> tuple[list[float], float]:
    """A ``rate`` fps clip that lost the frames in slots ``dropped`` (a camera's dropped frames)."""
    gone = set(dropped)
    return [s / rate for s in range(slots) if s not in gone], slots / rate


def write_clip(
    path: Path,
    times: Sequence[float],
    end_s: float,
    *,
    clip: int,
    size: tuple[int, int] = (160, 96),
    audio: bool = True,
    gop: int = 12,
    rate: Fraction | int = 24,
    bframes: bool = True,
) -> CodedClip:
    """Encode frames presented at ``times`` (H.264 in MP4, AAC noise as sound); ``rate`` is
    the frame rate the stream declares.

    MP4 keeps a frame's duration as the gap to the next frame *in decode order* (only the
    last packet's own duration is stored), so with B-frames the last picture's duration is
    whatever that gap was; ``bframes=False`` makes ``end_s`` exact for variable-rate times.
    """
    w, h = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = _TB
        vs.time_base = _TB
        vs.options = {"preset": "veryfast", "crf": "18", "g": str(gop)}
        if not bframes:
            vs.options["bf"] = "0"
        as_ = out.add_stream("aac", rate=SR, layout="mono") if audio else None
        ticks = [round(t / _TB) for t in times]
        # Each packet lasts until the next frame (the encoder would give them all 1/24 s).
        lasts = dict(zip(ticks, np.diff([*ticks, round(end_s / _TB)]).tolist(), strict=True))

        def mux(packets: list[av.Packet]) -> None:
            for packet in packets:
                if packet.pts is not None:
                    packet.duration = lasts[packet.pts]
                out.mux(packet)

        for i, tick in enumerate(ticks):
            frame = av.VideoFrame.from_ndarray(_picture(clip, i, w, h), format="gray")
            frame = frame.reformat(format="yuv420p")
            frame.pts = tick
            frame.time_base = _TB
            mux(vs.encode(frame))
        mux(vs.encode())
        if as_ is not None:
            as_.bit_rate = 128_000
            pcm = noise(clip, round(end_s * SR))
            for k in range(0, pcm.size, 1024):
                chunk = pcm[None, k : k + 1024]
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                aframe.sample_rate = SR
                aframe.pts = k
                aframe.time_base = Fraction(1, SR)
                for packet in as_.encode(aframe):
                    out.mux(packet)
            for packet in as_.encode():
                out.mux(packet)
    return CodedClip(Path(path), clip, tuple(float(t) for t in times), float(end_s), w, h, audio)


def noise(seed: int, samples: int) -> np.ndarray:
    """Noise below 3 kHz at about -20 dBFS RMS."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    spectrum[np.fft.rfftfreq(samples, 1 / SR) > 3000] = 0
    x = np.fft.irfft(spectrum, samples)
    return (0.1 * x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def _picture(clip: int, n: int, w: int, h: int) -> np.ndarray:
    img = np.full((h, w), 16, np.uint8)
    code = (clip << 12) | n
    for b in range(_ROWS * _COLS):
        if code >> (15 - b) & 1:
            r, c = divmod(b, _COLS)
            img[r * h // _ROWS : (r + 1) * h // _ROWS, c * w // _COLS : (c + 1) * w // _COLS] = 235
    return img


def read_codes(path: Path) -> list[tuple[int, int, float]]:
    """``(clip, frame, time)`` of every decoded picture of ``path``."""
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            g = frame.to_ndarray(format="gray").astype(np.float32)
            h, w = g.shape
            code = 0
            for b in range(_ROWS * _COLS):
                r, col = divmod(b, _COLS)
                # The middle of each block: clear of scaling and chroma bleed at its edges.
                y0, y1 = r * h // _ROWS, (r + 1) * h // _ROWS
                x0, x1 = col * w // _COLS, (col + 1) * w // _COLS
                dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
                bit = g[y0 + dy : y1 - dy, x0 + dx : x1 - dx].mean() > 125
                code = code << 1 | int(bit)
            out.append((code >> 12, code & 0xFFF, float(frame.time)))
    return out


@dataclass(frozen=True)
class Measure:
    """How a render of ``pieces`` keeps time (seconds; positive = later than it should be).

    Attributes:
        rate: the render's frame rate.
        frames: pictures decoded.
        duration_s: pictures' duration (frames / rate); ``kept_s``: the kept pieces' real spans.
        first_error_s: per piece, the largest gap between a source frame's first showing and
            its time on the cut's clock.
        screen_error_s: largest distance from an output frame's time to the span its source
            frame is on screen on the cut's clock (0 when it shows what the cut shows then;
            conforming by nearest frame keeps it under half an output frame).
        dropped: source frames of kept pieces never shown; ``foreign``: output frames that
            show a frame of no kept piece.
        sound_lag_s: per piece, how late its sound plays against the cut's clock.
        sound_vs_pictures_s: per piece, sound lag minus the pictures' median lag.
        audio_s: the sound's duration.
    """

    rate: float
    frames: int
    duration_s: float
    kept_s: float
    first_error_s: tuple[float, ...]
    screen_error_s: float
    dropped: int
    foreign: int
    sound_lag_s: tuple[float | None, ...]
    sound_vs_pictures_s: tuple[float | None, ...]
    audio_s: float

    @property
    def max_first_error_s(self) -> float:
        return max(abs(e) for e in self.first_error_s)

    @property
    def max_sound_vs_pictures_s(self) -> float:
        return max(abs(e) for e in self.sound_vs_pictures_s if e is not None)

    @property
    def max_sound_lag_s(self) -> float:
        return max(abs(e) for e in self.sound_lag_s if e is not None)

    def summary(self) -> str:
        return (
            f"{self.frames} frames at {self.rate:.3f} fps = {self.duration_s:.3f} s "
            f"(kept {self.kept_s:.3f} s, sound {self.audio_s:.3f} s); first showing off by "
            f"<= {1000 * self.max_first_error_s:.1f} ms, on-screen error "
            f"{1000 * self.screen_error_s:.1f} ms, {self.dropped} dropped, {self.foreign} "
            f"foreign; sound vs cut clock <= {1000 * self.max_sound_lag_s:.1f} ms, "
            f"vs pictures <= {1000 * self.max_sound_vs_pictures_s:.1f} ms"
        )


def measure(out: Path, pieces: Sequence[tuple[CodedClip, int, int]]) -> Measure:
    """Compare the render ``out`` of ``pieces`` (clip, first frame, end frame) with its sources.

    A clip's frame must appear in one piece only (the pieces say where it belongs).
    """
    codes = read_codes(out)
    with av.open(str(out)) as container:
        average_rate = container.streams.video[0].average_rate
    assert average_rate is not None, f"{out}: no frame rate"
    rate = float(average_rate)
    starts = list(itertools.accumulate((c.time(b) - c.time(a) for c, a, b in pieces), initial=0.0))
    kept = starts[-1]
    owner: dict[tuple[int, int], int] = {}
    for k, (c, a, b) in enumerate(pieces):
        for n in range(a, b):
            owner[(c.clip, n)] = k

    def cut_time(k: int, n: int) -> float:
        c, a, _ = pieces[k]
        return starts[k] + c.time(n) - c.time(a)

    first: dict[tuple[int, int], float] = {}
    screen, foreign = 0.0, 0
    for j, (clip, n, _t) in enumerate(codes):
        tau = j / rate
        piece = owner.get((clip, n))
        if piece is None:
            foreign += 1
            continue
        first.setdefault((clip, n), tau)
        # Where the cut's clock shows this frame: from its time to the next frame's.
        _c, _a, b = pieces[piece]
        lo = cut_time(piece, n)
        hi = cut_time(piece, n + 1) if n + 1 < b else starts[piece + 1]
        screen = max(screen, lo - tau, tau - hi)
    errors: list[float] = []
    lags: list[float | None] = []
    rel: list[float | None] = []
    audio = decode_audio(out)
    for k, (c, a, b) in enumerate(pieces):
        shown = [(first[(c.clip, n)] - cut_time(k, n)) for n in range(a, b) if (c.clip, n) in first]
        errors.append(max(shown, key=abs) if shown else math.inf)
        lag = _sound_lag(audio, c, starts[k], starts[k + 1], c.time(a)) if c.has_audio else None
        lags.append(lag)
        rel.append(None if lag is None or not shown else lag - float(np.median(shown)))
    dropped = sum(1 for key in owner if key not in first)
    return Measure(
        rate=rate,
        frames=len(codes),
        duration_s=len(codes) / rate,
        kept_s=kept,
        first_error_s=tuple(errors),
        screen_error_s=screen,
        dropped=dropped,
        foreign=foreign,
        sound_lag_s=tuple(lags),
        sound_vs_pictures_s=tuple(rel),
        audio_s=audio.size / SR,
    )


_SOURCE_SOUND: dict[Path, np.ndarray] = {}


def _sound_lag(
    audio: np.ndarray, clip: CodedClip, start: float, end: float, source_start: float
) -> float | None:
    """How late the piece's sound plays against the cut's clock (median over windows)."""
    src = _SOURCE_SOUND.get(clip.path)
    if src is None:
        src = _SOURCE_SOUND[clip.path] = decode_audio(clip.path)
    win, search = SR // 8, SR // 10  # 125 ms windows, lags up to +-100 ms
    lags = []
    for t in np.arange(start + 0.1, end - 0.1 - win / SR, 0.15):
        o0 = round(t * SR)
        s0 = round((source_start + t - start) * SR)
        if s0 - search < 0 or s0 + win + search > src.size or o0 + win > audio.size:
            continue
        ref = src[s0 - search : s0 + win + search]
        corr = np.correlate(ref, audio[o0 : o0 + win], mode="valid")
        lags.append((search - int(np.argmax(corr))) / SR)
    return float(np.median(lags)) if lags else None
