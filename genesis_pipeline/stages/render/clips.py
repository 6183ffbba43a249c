"""Narration clips placed on the render's clock: where each starts and how long it lasts, in
output samples, and its gain (checked and measured before anything is rendered)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.media.probe import stream_layout
from genesis_pipeline.stages.render.params import AssemblyParams, NarrationClipLike

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MixClip:
    """A narration clip placed on the output's clock.

    Attributes:
        channels: the clip's channel count (None when unknown).
        delay_samples: where it starts, in output samples.
        gain: its gain times the render's ``narration_gain``.
        samples: its length at the output's rate (0: unknown).
    """

    path: Path
    channels: int | None
    delay_samples: int
    gain: float
    samples: int = 0


def place_narration(
    clips: Sequence[NarrationClipLike], total: int, duration_s: float, params: AssemblyParams
) -> tuple[MixClip, ...]:
    """Check the clips and place them in samples on a cut of ``total`` samples
    (``duration_s``); clips starting after the cut are dropped.

    Raises:
        InvalidSettingError: a negative offset or gain.
        InvalidMediaError: a clip file is missing or has no audio.
    """
    out: list[MixClip] = []
    for i, clip in enumerate(clips):
        path = Path(clip.path)
        name = f"narration[{i}] ({path.name})"
        if not (math.isfinite(clip.offset_s) and clip.offset_s >= 0):
            raise InvalidSettingError(name, f"offset {clip.offset_s} s must be >= 0")
        if not (math.isfinite(clip.gain) and clip.gain >= 0):
            raise InvalidSettingError(name, f"gain {clip.gain} must be >= 0")
        if not path.is_file():
            raise InvalidMediaError(path, "narration file does not exist")
        layout = stream_layout(path)
        if layout.audio_index is None:
            raise InvalidMediaError(path, "narration file has no audio stream")
        delay = round(clip.offset_s * params.sample_rate)
        if delay >= total:
            log.warning(
                "%s starts at %.2f s, after the end of the cut (%.2f s): left out",
                name,
                clip.offset_s,
                duration_s,
            )
            continue
        length = round(layout.audio_duration_s * params.sample_rate)
        gain = clip.gain * params.narration_gain
        out.append(MixClip(path, layout.audio_channels, delay, gain, length))
    return tuple(out)
