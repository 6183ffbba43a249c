"""Probing and validating media with PyAV (no ffprobe needed).

``probe`` opens the file, reads stream facts, and proves the file is usable by decoding a frame
at its start and one near its end: a truncated file opens fine but fails there.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.media.streams import picture_stream, picture_streams, sound_stream

log = logging.getLogger(__name__)

# Packets sampled to decide whether the frame rate is variable.
_VFR_SAMPLE_PACKETS = 400
# A stream whose frame intervals differ by more than this fraction is variable-rate.
_VFR_TOLERANCE = 0.02


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a media file holds, as probed. Dimensions are as displayed (rotation applied)."""

    path: str
    container: str
    duration_s: float
    size_bytes: int
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation: int = 0
    fps: float | None = None
    is_vfr: bool = False
    frame_count: int | None = None
    pix_fmt: str | None = None
    bit_depth: int | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None

    @property
    def kind(self) -> str:
        """``video`` (with or without sound) or ``audio`` (audio-only)."""
        return "video" if self.has_video else "audio"


def probe(path: str | Path) -> MediaInfo:
    """Probe and validate ``path``.

    Raises:
        InvalidMediaError: the file is missing, empty, not media, has no audio or video stream,
            or cannot be decoded at its start or its end (truncated).
    """
    import av

    p = Path(path)
    if not p.exists():
        raise InvalidMediaError(p, "file does not exist")
    if not p.is_file():
        raise InvalidMediaError(p, "not a regular file")
    size = p.stat().st_size
    if size == 0:
        raise InvalidMediaError(p, "file is empty (0 bytes)")
    try:
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise InvalidMediaError(p, "not a media file (no audio or video container found)") from None
    except PermissionError:
        raise InvalidMediaError(p, "cannot be read (permission denied)") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidMediaError(p, f"cannot be opened as media ({_short(exc)})") from None
    try:
        return _probe_open(container, p, size)
    finally:
        container.close()


#: How long (microseconds) PyAV waits on a remote read before giving up: a probe over a
#: presigned URL must fail in seconds when the storage stops answering.
URL_TIMEOUT_US = 15_000_000


def probe_url(url: str, name: str, size: int) -> MediaInfo:
    """Probe and validate media behind an HTTP(S) URL (a presigned S3 GET): PyAV reads only the
    byte ranges it needs (header, first frames, the end), never the whole file.

    Args:
        url: what to open.
        name: what messages and the probe facts call the file (e.g. its ``s3://`` URI).
        size: the object's size in bytes (from its HEAD).

    Raises:
        InvalidMediaError: empty, not media, no audio or video stream, or cannot be decoded at
            its start or its end (names ``name``).
    """
    import av

    if size == 0:
        raise InvalidMediaError(name, "file is empty (0 bytes)")
    try:
        container = av.open(
            url,
            mode="r",
            metadata_errors="ignore",
            options={"rw_timeout": str(URL_TIMEOUT_US)},
            timeout=URL_TIMEOUT_US / 1e6,
        )
    except av.error.InvalidDataError:
        raise InvalidMediaError(
            name, "not a media file (no audio or video container found)"
        ) from None
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidMediaError(name, f"cannot be opened as media ({_short(exc)})") from None
    try:
        return _probe_open(container, name, size)
    finally:
        container.close()


def _probe_open(container: Any, p: str | Path, size: int) -> MediaInfo:
    import av

    fmt = container.format.name if container.format else "unknown"
    vstreams = picture_streams(container)
    astreams = list(container.streams.audio)
    if fmt in _IMAGE_FORMATS or (vstreams and _is_still_image(container, vstreams[0])):
        raise InvalidMediaError(p, f"a still image ({fmt}), not video or audio")
    if not vstreams and not astreams:
        raise InvalidMediaError(p, "contains no audio or video stream")

    duration_s = _duration(container, vstreams[0] if vstreams else astreams[0])
    info: dict[str, Any] = {
        "path": str(p),
        "container": fmt,
        "size_bytes": size,
        "has_video": bool(vstreams),
        "has_audio": bool(astreams),
    }
    if astreams:
        a = astreams[0]
        info.update(
            audio_codec=a.codec_context.name,
            sample_rate=a.codec_context.sample_rate or None,
            channels=a.codec_context.channels or None,
        )
    if vstreams:
        v = vstreams[0]
        cc = v.codec_context
        rate = v.average_rate or v.guessed_rate or v.base_rate
        fps = float(rate) if rate else None
        if not fps or not math.isfinite(fps) or fps <= 0 or fps > 1000:
            raise InvalidMediaError(p, "video stream has no usable frame rate")
        first = _decode_first(container, v, p)
        rotation = int(getattr(first, "rotation", 0) or 0) % 360
        cw, ch = first.width, first.height
        w, h = (ch, cw) if rotation in (90, 270) else (cw, ch)
        is_vfr = _is_variable_rate(container, v)
        frames = v.frames or (round(duration_s * fps) if duration_s else None)
        pix_fmt = first.format.name if first.format else cc.pix_fmt
        info.update(
            video_codec=cc.name,
            width=w,
            height=h,
            coded_width=cw,
            coded_height=ch,
            rotation=rotation,
            fps=round(fps, 6),
            is_vfr=is_vfr,
            frame_count=frames,
            pix_fmt=pix_fmt,
            bit_depth=_bit_depth(pix_fmt),
        )
        _check_tail(container, v, duration_s, p)
    else:
        _decode_first(container, astreams[0], p)
        _check_tail(container, astreams[0], duration_s, p)
    if duration_s <= 0:
        raise InvalidMediaError(p, "has no duration (no decodable frames)")
    del av
    return MediaInfo(duration_s=round(duration_s, 6), **info)


_IMAGE_FORMATS = {
    "image2",
    "png_pipe",
    "jpeg_pipe",
    "bmp_pipe",
    "gif",
    "webp_pipe",
    "tiff_pipe",
    "gif_pipe",
    "svg_pipe",
    "jpegls_pipe",
    "qoi_pipe",
}


def _is_still_image(container: Any, stream: Any) -> bool:
    # An image renamed to .mov opens through an image demuxer or as a one-frame image codec.
    still_codecs = {"png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpegls"}
    if stream.codec_context.name in still_codecs and not container.streams.audio:
        return (stream.frames or 0) <= 1 and (container.duration or 0) <= 0.1 * 1_000_000
    return False


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        d = float(stream.duration * stream.time_base)
        if d > 0:
            return d
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000.0
    return 0.0


def _decode_first(container: Any, stream: Any, p: str | Path) -> Any:
    import av

    with contextlib.suppress(av.error.FFmpegError):
        container.seek(0, stream=stream) if stream.start_time is not None else None
    try:
        for frame in container.decode(stream):
            return frame
    except (av.error.FFmpegError, ValueError) as exc:
        raise InvalidMediaError(p, f"cannot be decoded ({_short(exc)})") from None
    raise InvalidMediaError(p, f"has a {stream.type} stream but no decodable frames")


def _check_tail(container: Any, stream: Any, duration_s: float, p: str | Path) -> None:
    """Decode near the end: a file cut short opens fine but fails (or ends early) here."""
    import av

    if duration_s <= 1.0:
        return
    target_s = max(0.0, duration_s - 1.0)
    tb = stream.time_base or Fraction(1, 1_000_000)
    start = float(stream.start_time * tb) if stream.start_time is not None else 0.0
    try:
        container.seek(int((start + target_s) / tb), stream=stream, backward=True, any_frame=False)
        last_t = None
        for i, frame in enumerate(container.decode(stream)):
            if frame.time is not None:
                last_t = frame.time - start
            if i > 400 or (last_t is not None and last_t >= duration_s - 0.5):
                break
    except (av.error.FFmpegError, ValueError) as exc:
        raise InvalidMediaError(
            p, f"is truncated or corrupt near its end ({_short(exc)})"
        ) from None
    if last_t is None or last_t < duration_s - 2.5:
        seen = "no frames" if last_t is None else f"frames only up to {last_t:.1f} s"
        raise InvalidMediaError(
            p, f"is truncated: header says {duration_s:.1f} s but {seen} could be decoded"
        )


def _is_variable_rate(container: Any, stream: Any) -> bool:
    import av

    pts: list[int] = []
    try:
        container.seek(0, stream=stream) if stream.start_time is not None else None
        for packet in container.demux(stream):
            if packet.pts is not None:
                pts.append(packet.pts)
            if len(pts) >= _VFR_SAMPLE_PACKETS:
                break
    except av.error.FFmpegError:
        return False
    if len(pts) < 3:
        return False
    pts.sort()
    deltas = [b - a for a, b in itertools.pairwise(pts) if b > a]
    if not deltas:
        return False
    deltas.sort()
    median = deltas[len(deltas) // 2]
    spread = (deltas[int(len(deltas) * 0.95)] - deltas[int(len(deltas) * 0.05)]) / median
    return spread > _VFR_TOLERANCE


def _bit_depth(pix_fmt: str | None) -> int | None:
    if not pix_fmt:
        return None
    for depth in (16, 14, 12, 10, 9):
        if f"p{depth}" in pix_fmt:
            return depth
    return 8


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # PyAV messages repeat the path; keep the reason.
    return text.split(": '")[0][:160]


@dataclass(frozen=True, slots=True)
class StreamLayout:
    """Where a file's pictures and sound are, without validating or decoding anything.

    Attributes:
        video_index: index of the picture stream (:func:`~genesis_pipeline.media.streams.
            picture_stream`), None without pictures.
        audio_index: index of the sound stream, None without sound.
        audio_channels: the sound's channel count, None without sound.
        video_start_s: the picture stream's start relative to the container's (0 when it
            starts with it or there are no pictures).
        audio_duration_s: the sound's length as its header says (0 without sound).
    """

    video_index: int | None
    audio_index: int | None
    audio_channels: int | None
    video_start_s: float
    audio_duration_s: float = 0.0


def stream_layout(path: Path) -> StreamLayout:
    """Read which streams of ``path`` hold its pictures and sound (headers only: quick, for
    files already accepted by :func:`probe`). A file with neither has both indices None.

    Raises:
        InvalidMediaError: missing or unreadable.
    """
    import av

    if not path.is_file():
        raise InvalidMediaError(path, "file does not exist")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InvalidMediaError(path, f"cannot be opened as media ({exc})") from None
    with container:
        video = picture_stream(container)
        audio = sound_stream(container)
        c_start = container.start_time / 1e6 if container.start_time is not None else 0.0
        v_start = 0.0
        if video is not None and video.start_time is not None and video.time_base:
            v_start = max(0.0, float(video.start_time * video.time_base) - c_start)
        return StreamLayout(
            video_index=video.index if video is not None else None,
            audio_index=audio.index if audio is not None else None,
            audio_channels=audio.codec_context.channels if audio is not None else None,
            video_start_s=v_start,
            audio_duration_s=_stream_seconds(container, audio) if audio is not None else 0.0,
        )


def _stream_seconds(container: Any, stream: Any) -> float:
    """The stream's duration from its header, else the container's."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    return float(container.duration or 0) / 1e6


def display_size(path: Path) -> tuple[int, int] | None:
    """Width and height of the first picture as displayed (rotation applied); None when the
    file has no pictures.

    Raises:
        InvalidMediaError: the pictures cannot be decoded.
    """
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            video = picture_stream(container)
            if video is None:
                return None
            frame = next(container.decode(video))
    except (av.error.FFmpegError, OSError, StopIteration, ValueError) as exc:
        raise InvalidMediaError(path, f"video cannot be decoded ({exc})") from None
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    return (frame.height, frame.width) if rotation in (90, 270) else (frame.width, frame.height)
