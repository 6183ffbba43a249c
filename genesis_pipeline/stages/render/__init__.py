"""Render the approved cut, with its narration, to one H.264/AAC MP4.

:func:`render_cut` is the one entry point; ``params.mode`` picks ``smart`` (stream-copy what
the cut leaves whole, encode around the cuts) or ``reencode`` (decode and encode everything).
"""

from __future__ import annotations

from genesis_pipeline.stages.render.reencode import (
    MODES,
    NARRATION_FADE_S,
    VERSION,
    AssemblyParams,
    RenderResult,
    render_cut,
)

__all__ = ["MODES", "NARRATION_FADE_S", "VERSION", "AssemblyParams", "RenderResult", "render_cut"]
