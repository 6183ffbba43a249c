"""Playback proxy: a small copy of a source that every browser plays, on the source's timeline.

For footage a browser cannot play (see :mod:`genesis_pipeline.media.playability`): H.264 8-bit
4:2:0 scaled so its long side is at most ``long_side`` (never up), a keyframe every
``keyframe_s`` seconds of source time (seeks land quickly), stereo AAC, ``+faststart`` (plays
before it has fully loaded). Every frame keeps its source time (``-fps_mode passthrough``:
variable frame rate stays variable, no frame dropped or duplicated) and the copy starts where the
source starts, so "play from 12.34 s" shows the same picture in the proxy as in the source.
Audio-only sources get the AAC sound alone (``proxy.m4a``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidSettingError, StageError
from genesis_pipeline.progress import Progress, no_progress

VERSION = 1

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
VIDEO_FILE = "proxy.mp4"
AUDIO_FILE = "proxy.m4a"
# Bilinear scaling is enough for a review copy and, from 1080p, a third cheaper than bicubic.
_SCALER = "fast_bilinear"


@dataclass(frozen=True, slots=True)
class ProxyParams:
    """How a playback proxy is made.

    Attributes:
        long_side: the picture's longer side at most this many pixels (never upscaled; both
            sides rounded down to even numbers, as 4:2:0 needs). 960 keeps text on test charts
            and faces readable in a review player.
        crf: x264 constant rate factor (0 to 51, higher is smaller).
        preset: x264 preset; ``veryfast`` encodes several times faster than real time here.
        keyframe_s: a keyframe at least this often, in seconds of source time (seeks decode at
            most this much).
        audio_kbps: AAC bit rate, kbit/s.
        audio_channels: channels of the AAC sound (2: stereo, mono is duplicated).
    """

    long_side: int = 960
    crf: int = 26
    preset: str = "veryfast"
    keyframe_s: float = 1.0
    audio_kbps: int = 128
    audio_channels: int = 2

    def __post_init__(self) -> None:
        if not 32 <= self.long_side <= 7680:
            raise InvalidSettingError(
                "proxy.long_side", f"must be 32 to 7680 (got {self.long_side})"
            )
        if not 0 <= self.crf <= 51:
            raise InvalidSettingError("proxy.crf", f"must be 0 to 51 (got {self.crf})")
        if self.preset not in PRESETS:
            raise InvalidSettingError("proxy.preset", f"must be one of {', '.join(PRESETS)}")
        if not 0.1 <= self.keyframe_s <= 10.0:
            raise InvalidSettingError(
                "proxy.keyframe_s", f"must be 0.1 to 10 (got {self.keyframe_s})"
            )
        if not 32 <= self.audio_kbps <= 512:
            raise InvalidSettingError(
                "proxy.audio_kbps", f"must be 32 to 512 (got {self.audio_kbps})"
            )
        if self.audio_channels not in (1, 2):
            raise InvalidSettingError("proxy.audio_channels", "must be 1 or 2")


@dataclass(frozen=True, slots=True)
class Proxy:
    """A finished proxy: its file (inside the stage's output folder) and what it holds
    (serialised with :mod:`genesis_pipeline.serde`)."""

    file: str
    kind: str  # video | audio
    duration_s: float
    size_bytes: int
    encode_s: float
    source_duration_s: float
    params: ProxyParams
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None

    @property
    def speed(self) -> float:
        """Seconds of footage per second of encoding (times real time)."""
        return self.source_duration_s / self.encode_s if self.encode_s > 0 else 0.0


def proxy_args(
    source: Path, out: Path, *, has_video: bool, has_audio: bool, params: ProxyParams
) -> list[str]:
    """The ffmpeg arguments that turn ``source`` into the proxy ``out`` (built with
    ffmpeg-python, :mod:`genesis_pipeline.media.filtergraph`).

    Raises:
        InvalidSettingError: the source has neither picture nor sound.
    """
    from genesis_pipeline.media.filtergraph import Filter, chain, command, open_input, stream

    if not has_video and not has_audio:
        raise InvalidSettingError("proxy", f"{source.name} has no video or audio stream to copy")
    media = open_input(source)
    outputs = []
    options: dict[str, object] = {"sn": None, "dn": None, "map_chapters": -1}
    if has_video:
        # Long side at most L, never up, both sides even. The autorotated picture is scaled, so
        # a portrait phone clip stays portrait.
        fit = f"min(1,{params.long_side}/max(iw,ih))"
        scale = Filter.of("scale", f"trunc(iw*{fit}/2)*2", f"trunc(ih*{fit}/2)*2", flags=_SCALER)
        # The first picture stream that is not cover art, as the probe chose.
        outputs.append(chain(stream(media, "V:0"), [scale, Filter.of("format", "yuv420p")]))
        options.update(
            {
                "c:v": "libx264",
                "preset": params.preset,
                "crf": params.crf,
                "profile:v": "high",
                "pix_fmt": "yuv420p",
                # Keyframes on source time, not frame counts, so variable-rate footage seeks
                # alike.
                "force_key_frames": f"expr:gte(t,n_forced*{params.keyframe_s:g})",
                # Each frame at its source time: no frame dropped, duplicated or moved.
                "fps_mode": "passthrough",
            }
        )
    else:
        options["vn"] = None
    if has_audio:
        outputs.append(stream(media, "a:0"))
        options.update({"c:a": "aac", "b:a": f"{params.audio_kbps}k", "ac": params.audio_channels})
    return command(outputs, out, **options, movflags="+faststart", format="mp4")


def make_proxy(
    source: Path,
    out_dir: Path,
    *,
    has_video: bool,
    has_audio: bool,
    duration_s: float,
    params: ProxyParams | None = None,
    progress: Progress = no_progress,
) -> Proxy:
    """Write a browser-playable copy of ``source`` into ``out_dir`` and describe it.

    ``out_dir`` should be a fresh folder that is published only when this returns (the stage
    cache builds entries that way), so a crash never leaves a half-written proxy in sight.

    Raises:
        InvalidSettingError: the source has neither picture nor sound.
        ToolNotFoundError: ffmpeg is missing.
        MediaToolError: ffmpeg failed (the message carries the end of its log).
        StageError: the copy came out unplayable or much shorter than the source.
    """
    from genesis_pipeline.errors import InvalidMediaError
    from genesis_pipeline.media.ffmpeg import run_ffmpeg
    from genesis_pipeline.media.playability import PlaybackFacts, browser_verdict
    from genesis_pipeline.media.probe import probe

    params = params or ProxyParams()
    out = Path(out_dir) / (VIDEO_FILE if has_video else AUDIO_FILE)
    args = proxy_args(Path(source), out, has_video=has_video, has_audio=has_audio, params=params)
    t0 = time.monotonic()
    run_ffmpeg(
        args,
        what=f"playable copy of {Path(source).name}",
        duration_s=duration_s,
        progress=progress,
        die_with_parent=True,
    )
    encode_s = time.monotonic() - t0
    try:
        info = probe(out)
    except InvalidMediaError as exc:
        raise StageError(
            "proxy", f"the copy of {Path(source).name} is unusable: {exc.reason}"
        ) from exc
    verdict = browser_verdict(PlaybackFacts.from_probe(serde.to_json(info), out.name))
    if not verdict.playable:  # the recipe above is wrong for this source: say so, loudly
        raise StageError(
            "proxy", f"the copy of {Path(source).name} does not play: {verdict.reason}"
        )
    # A copy that stops early would silently cut the review short.
    if duration_s > 0 and info.duration_s < duration_s - max(0.5, 0.02 * duration_s):
        raise StageError(
            "proxy",
            f"the copy of {Path(source).name} lasts {info.duration_s:.2f} s, the source "
            f"{duration_s:.2f} s",
        )
    progress(1, 1, "playable copy ready")
    return Proxy(
        file=out.name,
        kind="video" if has_video else "audio",
        duration_s=info.duration_s,
        size_bytes=out.stat().st_size,
        encode_s=round(encode_s, 3),
        source_duration_s=duration_s,
        params=params,
        width=info.width,
        height=info.height,
        video_codec=info.video_codec,
        pix_fmt=info.pix_fmt,
        audio_codec=info.audio_codec,
    )
