"""What a render is asked for and what it gives back: :class:`AssemblyParams` (checked by
:func:`check_params`), the narration clips it mixes in, and :class:`RenderResult`.

The bottom of the render engine: every other module of :mod:`genesis_pipeline.stages.render`
imports this one, and it imports none of them (see ``docs/render.md``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from genesis_pipeline.errors import InvalidSettingError

VERSION = 5  # 2: mono cuts stay mono; 3: real frame times, rate policy, VFR conformed;
# 4: chapter markers (and optional soft subtitles) in the file; 5: burned-in subtitles

MODES = ("reencode", "smart")
"""Render modes: ``reencode`` decodes and encodes every picture; ``smart`` stream-copies the
pictures it can (see :mod:`genesis_pipeline.stages.render.smart`) and encodes the rest."""

NARRATION_FADE_S = 0.5
"""A narration clip still sounding at the cut's end fades out over this much of its end inside
the cut (less when it started later): a voice is never chopped off mid-word."""

EXTEND_WITH = ("source", "freeze")
"""How :attr:`AssemblyParams.extend_s` is filled: ``source`` runs the last piece on in its
file (its pictures and sound; its last frame held over silence where the file ends),
``freeze`` holds the last kept picture while the piece's sound runs on under it."""

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
_BITRATE_RE = re.compile(r"^[1-9]\d*k?$")
# sidechaincompress's own ranges for the ducking parameters.
_DUCK_RANGES = {
    "duck_threshold": (0.000976563, 1.0),
    "duck_ratio": (1.0, 20.0),
    "duck_attack_ms": (0.01, 2000.0),
    "duck_release_ms": (0.01, 9000.0),
}


class NarrationClipLike(Protocol):
    """What a render reads of a narration clip (``stages.narration.NarrationClip`` fits)."""

    @property
    def path(self) -> Path: ...

    @property
    def offset_s(self) -> float: ...

    @property
    def gain(self) -> float: ...


@dataclass(frozen=True, slots=True)
class AssemblyParams:
    """How the cut is rendered.

    Ducking: ``sidechaincompress`` keyed by the narration lowers the bed by ``1 - 1/duck_ratio``
    dB for every dB the narration's RMS level is above ``duck_threshold``, so the depth follows
    the voice, not the bed. The threshold (-40 dBFS) sits far below speech, so the bed is ducked
    from the first syllable and ducking survives a quieter voice; ratio 4 keeps the depth
    moderate; a 20 ms attack ducks before the first word is masked; a 500 ms release holds the
    bed down through the pauses between words and lets it back soon after the voice stops
    (measured depths: ``docs/render.md``).

    Attributes:
        width: output width in pixels (even); None = the first segment's display width.
        height: output height in pixels (even); None = the first segment's display height.
        fps: output frame rate; None = the rate of the footage covering most of the cut (a
            constant-rate file counts as its rate, a variable-rate one as the standard rate
            nearest its peak rate; see :mod:`~genesis_pipeline.stages.render.plan`). Footage at
            another rate, or at a variable rate, is conformed by its timestamps: each picture
            first shows within half an output frame of its time on the cut.
        crf: x264 constant rate factor (0-51, lower is better and bigger).
        preset: x264 speed preset.
        audio_bitrate: AAC bitrate (ffmpeg syntax, ``160k``).
        sample_rate: output audio sample rate in Hz.
        bed_gain: linear gain on the natural sound.
        narration_gain: linear gain on the narration, multiplying each clip's own gain.
        duck_threshold: narration level (linear, RMS) above which the bed is ducked.
        duck_ratio: compression ratio applied to the bed above the threshold (1-20).
        duck_attack_ms: how fast the bed goes down when narration starts.
        duck_release_ms: how fast the bed comes back when narration stops.
        extend_s: seconds added after the last kept frame (a voiceover that runs past the
            cut), filled as ``extend_with`` says (see :data:`EXTEND_WITH`); 0 = none.
        extend_with: ``source`` or ``freeze``.
        mode: ``smart`` (stream-copy the GOPs of compatible H.264 sources and the AAC packets
            that the cut leaves whole, encode only around the cuts: the same frames, the same
            sound within 10.7 ms of its pictures, several times faster; ``crf``, ``preset``
            and ``audio_bitrate`` then apply to the encoded stretches only) or ``reencode``
            (decode, cut and encode everything; sound in sync to the sample).
    """

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    crf: int = 20
    preset: str = "veryfast"
    audio_bitrate: str = "160k"
    sample_rate: int = 48000
    bed_gain: float = 1.0
    narration_gain: float = 1.0
    duck_threshold: float = 0.01
    duck_ratio: float = 4.0
    duck_attack_ms: float = 20.0
    duck_release_ms: float = 500.0
    mode: str = "smart"
    extend_s: float = 0.0
    extend_with: str = "source"


def check_params(p: AssemblyParams) -> None:
    """Raises: InvalidSettingError: a parameter is out of range (named by its field)."""
    if p.mode not in MODES:
        raise InvalidSettingError("mode", f"{p.mode!r} is not one of {', '.join(MODES)}")
    for name in ("width", "height"):
        v = getattr(p, name)
        if v is not None and (v < 2 or v % 2):
            raise InvalidSettingError(name, f"{v} must be an even number of pixels >= 2")
    if p.extend_with not in EXTEND_WITH:
        raise InvalidSettingError(
            "extend_with", f"{p.extend_with!r} is not one of {', '.join(EXTEND_WITH)}"
        )
    if not (math.isfinite(p.extend_s) and 0 <= p.extend_s <= 3600):
        raise InvalidSettingError("extend_s", f"{p.extend_s} must be in [0, 3600] seconds")
    if p.fps is not None and not (0 < p.fps <= 240):
        raise InvalidSettingError("fps", f"{p.fps} must be in (0, 240]")
    if not 0 <= p.crf <= 51:
        raise InvalidSettingError("crf", f"{p.crf} must be in 0..51")
    if p.preset not in X264_PRESETS:
        raise InvalidSettingError("preset", f"{p.preset!r} is not an x264 preset")
    if not _BITRATE_RE.match(p.audio_bitrate):
        raise InvalidSettingError("audio_bitrate", f"{p.audio_bitrate!r} is not like '160k'")
    if not 8000 <= p.sample_rate <= 192000:
        raise InvalidSettingError("sample_rate", f"{p.sample_rate} must be in 8000..192000 Hz")
    for name in ("bed_gain", "narration_gain"):
        v = getattr(p, name)
        if not (math.isfinite(v) and 0 <= v <= 64):
            raise InvalidSettingError(name, f"{v} must be a linear gain in [0, 64]")
    for name, (lo, hi) in _DUCK_RANGES.items():
        v = getattr(p, name)
        if not lo <= v <= hi:
            raise InvalidSettingError(name, f"{v} must be in [{lo:g}, {hi:g}]")


@dataclass(frozen=True, slots=True)
class SubtitleStyle:
    """How burned-in subtitles look: libass's ``force_style`` over a SubRip file.

    SubRip is laid out on libass's canvas of 288 lines scaled to the picture, so sizes and
    margins are in 288ths of the picture's height, whatever its resolution.

    Attributes:
        font: font family (found through fontconfig; DejaVu Sans is on every Debian with
            fonts, and fontconfig falls back to a sans font without it).
        size: font size (20: letters about 7 % of the picture's height; a full line of 42
            characters spans about three quarters of a 16:9 picture).
        outline: width of the black outline that keeps white text legible on any picture.
        margin_v: gap between the last line and the bottom of the picture.
    """

    font: str = "DejaVu Sans"
    size: int = 20
    outline: float = 1.2
    margin_v: int = 14

    def __post_init__(self) -> None:
        if not 4 <= self.size <= 144:
            raise InvalidSettingError("subtitle size", f"{self.size} must be in 4..144")
        if not (math.isfinite(self.outline) and 0 <= self.outline <= 10):
            raise InvalidSettingError("subtitle outline", f"{self.outline} must be in [0, 10]")
        if not 0 <= self.margin_v <= 144:
            raise InvalidSettingError("subtitle margin", f"{self.margin_v} must be in 0..144")
        if not self.font.strip() or any(ch in self.font for ch in ",:'\\\n"):
            raise InvalidSettingError("subtitle font", f"{self.font!r} is not a font family name")

    def force_style(self) -> str:
        """The ASS style fields libass applies over the SubRip file's defaults."""
        return ",".join(
            [
                f"FontName={self.font}",
                f"FontSize={self.size}",
                "PrimaryColour=&H00FFFFFF",  # &HAABBGGRR: opaque white text
                "OutlineColour=&H00000000",  # black outline
                "BorderStyle=1",  # outline and shadow, no box
                f"Outline={self.outline:g}",
                "Shadow=0",
                f"MarginV={self.margin_v}",
                "Alignment=2",  # bottom centre
            ]
        )


@dataclass(frozen=True, slots=True)
class BurnIn:
    """Subtitles drawn into the pictures: a SubRip file on the cut's clock and its look."""

    subtitles: Path
    style: SubtitleStyle = field(default_factory=SubtitleStyle)


@dataclass(frozen=True, slots=True)
class RenderResult:
    """A finished render, as measured on the written file.

    ``frames_copied`` pictures were stream-copied from the sources (mode ``smart``),
    ``frames_encoded`` encoded; together they make ``frames``. ``frames_conformed`` of them were
    retimed onto the output's rate from variable-rate or other-rate footage (see
    :mod:`~genesis_pipeline.stages.render.plan`). ``sound_copied_s`` seconds of
    sound were packet-copied (mode ``smart``, see :mod:`~genesis_pipeline.stages.render.sound`),
    played at most ``sound_offset_ms`` after or before their pictures; otherwise the sound is
    encoded whole, sample-exact. Serialised with :mod:`genesis_pipeline.serde`.
    """

    path: Path
    duration_s: float
    frames: int
    width: int
    height: int
    fps: float
    has_narration: bool
    params: AssemblyParams = field(default_factory=AssemblyParams)
    frames_copied: int = 0
    frames_encoded: int = 0
    sound_copied_s: float = 0.0
    sound_offset_ms: float = 0.0
    frames_conformed: int = 0
