"""AAC-LC audio at the packet level: index a track, read exact samples, encode and decode
packets in memory (PyAV, FFmpeg's native codecs).

An AAC packet carries 1,024 samples, but its samples come out of the decoder overlapped with the
previous packet's (MDCT frames are 2,048 samples long, half shared with each neighbour). In
FFmpeg's timestamps a packet with presentation time ``p`` covers the frame ``[p, p + 2048)``
and the decoder's output for it is ``[p, p + 1024)``: the second half of the previous packet's
frame added to the first half of its own. A stream made by an encoder starts with a *priming*
packet at ``p = -1024`` whose output is dropped (the MP4 edit list says so).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

FRAME = 1024  # samples per AAC-LC packet


@dataclass(frozen=True, slots=True)
class AacTrack:
    """An AAC-LC track whose packets can be copied: contiguous, 1,024 samples each, the first
    decoded sample at time 0.

    Attributes:
        path: the media file.
        stream_index: the audio stream's index in the file.
        sample_rate: samples per second.
        channels: channel count.
        extradata: the AudioSpecificConfig (copied packets need exactly this one).
        samples: decodable samples (the packets after the priming one).
    """

    path: Path
    stream_index: int
    sample_rate: int
    channels: int
    extradata: bytes
    samples: int

    @property
    def layout(self) -> str:
        return "mono" if self.channels == 1 else "stereo"


def index_aac(path: Path, stream_index: int) -> AacTrack | str:
    """The track's facts when its packets can be copied, else the reason they cannot.

    Demuxes the audio stream once (no decoding) to prove the packets are contiguous.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        return f"cannot be opened ({exc})"
    with container:
        stream = container.streams[stream_index]
        cc: Any = stream.codec_context
        if cc.name != "aac" or cc.profile != "LC":
            return f"sound is {cc.name} {cc.profile or ''}".strip() + ", not AAC-LC"
        if cc.channels not in (1, 2):
            return f"{cc.channels} sound channels"
        if stream.time_base != Fraction(1, cc.sample_rate):
            return "sound time base is not one sample"
        expected, end = -FRAME, None
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.pts != expected or end is not None:
                at = float(packet.pts or 0) / cc.sample_rate
                return f"sound packets are not contiguous at {at:.3f} s"
            expected += FRAME
            if packet.duration and packet.duration != FRAME:  # only the last may be short
                end = packet.pts + packet.duration
        if expected <= 0:
            return "no sound packets"
        return AacTrack(
            path,
            stream_index,
            cc.sample_rate,
            cc.channels,
            bytes(cc.extradata or b""),
            expected if end is None else end,
        )


class AacReader:
    """Reads packets and decoded samples of AAC tracks, keeping each file open between reads
    (opening an MP4 costs more than reading a few packets from it). Use as a context manager;
    one thread at a time."""

    def __init__(self) -> None:
        self._open: dict[Path, Any] = {}

    def __enter__(self) -> AacReader:
        return self

    def __exit__(self, *exc: object) -> None:
        for container in self._open.values():
            container.close()
        self._open.clear()

    def packets(self, track: AacTrack, first: int, stop: int) -> list[bytes]:
        """The payloads of the packets with presentation times ``first, first + 1024, ...``
        up to ``stop``.

        Raises:
            ValueError: the track does not hold them all, in order.
        """
        import av

        container = self._open.get(track.path)
        if container is None:
            container = self._open[track.path] = av.open(str(track.path))
        stream = container.streams[track.stream_index]
        container.seek(first, stream=stream, backward=True, any_frame=False)
        out: list[bytes] = []
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0 or packet.pts < first:
                continue
            if packet.pts >= stop:
                break
            if packet.pts != first + FRAME * len(out):
                raise ValueError(f"{track.path.name}: sound packet {packet.pts} out of order")
            out.append(bytes(packet))
        if len(out) != (stop - first) // FRAME:
            raise ValueError(f"{track.path.name}: sound packets {first}..{stop} are not all there")
        return out

    def samples(self, track: AacTrack, start: int, count: int) -> np.ndarray:
        """Decoded samples ``[start, start + count)`` as float32 ``(channels, count)``; zero
        where the track has none (before 0, after its end)."""
        out = np.zeros((track.channels, count), dtype=np.float32)
        lo, hi = max(start, 0), min(start + count, track.samples)
        if hi <= lo:
            return out
        # Start decoding two packets early: a packet's output needs the one before it.
        first = max(-FRAME, (lo // FRAME - 2) * FRAME)
        stop = (hi + FRAME - 1) // FRAME * FRAME
        pcm = decode(self.packets(track, first, stop), track.extradata, track.channels)
        # Output of the first packet is dropped by decode(); sample 0 of pcm is first + 1024.
        origin = first + FRAME
        out[:, lo - start : hi - start] = pcm[:, lo - origin : hi - origin]
        return out


def decode(packets: list[bytes], extradata: bytes, channels: int) -> np.ndarray:
    """Decode packets in order with one fresh decoder; the first packet's output (no
    predecessor to overlap with) is dropped. Returns float32 ``(channels, samples)``."""
    import av

    cc = av.CodecContext.create("aac", "r")
    cc.extradata = extradata
    chunks: list[np.ndarray] = []
    for payload in packets:
        for frame in cc.decode(av.Packet(payload)):
            chunks.append(frame.to_ndarray().reshape(channels, -1))
    with contextlib.suppress(av.error.EOFError):
        for frame in cc.decode(None):
            chunks.append(frame.to_ndarray().reshape(channels, -1))
    if not chunks:
        return np.zeros((channels, 0), dtype=np.float32)
    return np.concatenate(chunks, axis=1)[:, FRAME:].astype(np.float32, copy=False)


def encode(pcm: np.ndarray, sample_rate: int, bit_rate: int) -> dict[int, tuple[bytes, int]]:
    """Encode float samples ``(channels, n)`` with FFmpeg's AAC-LC encoder, sample 0 at time 0.

    Returns ``{presentation time: (payload, duration)}``, the priming packet at ``-1024``.
    """
    import av

    channels = pcm.shape[0]
    cc: Any = av.CodecContext.create("aac", "w")
    cc.sample_rate = sample_rate
    cc.layout = "mono" if channels == 1 else "stereo"
    cc.format = "fltp"
    cc.bit_rate = bit_rate
    cc.time_base = Fraction(1, sample_rate)
    cc.open()
    out: dict[int, tuple[bytes, int]] = {}

    def take(packets: Any) -> None:
        for p in packets:
            out[int(p.pts)] = (bytes(p), int(p.duration or FRAME))

    data = np.ascontiguousarray(pcm, dtype=np.float32)
    for at in range(0, data.shape[1], FRAME):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(data[:, at : at + FRAME]), format="fltp", layout=cc.layout.name
        )
        frame.sample_rate = sample_rate
        frame.pts = at
        frame.time_base = cc.time_base
        take(cc.encode(frame))
    take(cc.encode(None))
    return out


def bit_rate(text: str) -> int:
    """``160k`` / ``1.5M`` / ``96000`` (FFmpeg's syntax) in bits per second."""
    t = text.strip().lower()
    scale = {"k": 1000, "m": 1000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)
