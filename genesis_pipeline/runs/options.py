"""What a user asks of one run: the options the CLI, the app's Run page and services share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the user asked for this run (CLI flags or the app's Run page); recorded with the
    run as ``options_json`` (``serde.to_json`` of it).

    Attributes:
        force: recompute every step, ignoring the cache.
        voiceover: narration for the whole cut, added before the run starts.
        render_mode: saved for the project when given (``smart`` | ``reencode``).
        narration_overrun: saved for the project when given (``trim`` | ``extend`` |
            ``freeze``).
        subtitles: the subtitles of the project's renders, saved when given (``off`` |
            ``soft`` | ``burned``).
    """

    force: bool = False
    voiceover: Path | None = None
    voiceover_offset: float | None = None
    voiceover_gain: float | None = None
    bed_gain: float | None = None
    render: bool = True
    render_mode: str | None = None
    narration_overrun: str | None = None
    subtitles: str | None = None
