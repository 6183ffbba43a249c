"""What a user asks of one run: the options the CLI, the app's Run page and services share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the user asked for this run (CLI flags or the app's Run page)."""

    force: bool = False
    voiceover: Path | None = None
    voiceover_offset: float | None = None
    voiceover_gain: float | None = None
    bed_gain: float | None = None
    render: bool = True
    render_mode: str | None = None  # saved for the project when given (smart | reencode)
    narration_overrun: str | None = None  # saved when given (trim | extend | freeze)

    def to_dict(self) -> dict[str, Any]:
        return {
            "force": self.force,
            "voiceover": str(self.voiceover) if self.voiceover else None,
            "voiceover_offset": self.voiceover_offset,
            "voiceover_gain": self.voiceover_gain,
            "bed_gain": self.bed_gain,
            "render": self.render,
            "render_mode": self.render_mode,
            "narration_overrun": self.narration_overrun,
        }
