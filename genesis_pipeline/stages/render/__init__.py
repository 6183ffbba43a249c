"""Render the approved cut, with its narration, to one H.264/AAC MP4.

:func:`render_cut` is the one entry point: it checks the parameters, plans the cut on the
output's clock (:mod:`~genesis_pipeline.stages.render.plan`) and hands the plan to the
:class:`Renderer` of ``params.mode``: ``smart`` (stream-copy what the cut leaves whole, encode
around the cuts) or ``reencode`` (decode and encode everything). The modules import one way:
``params`` <- ``plan`` <- ``reencode`` / ``sound`` <- ``smart`` <- here (``docs/render.md``).
Chapters and a soft subtitle track are added last, by a stream copy, in both modes
(:mod:`~genesis_pipeline.stages.render.finish`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.files import TMP_PREFIX
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.stages.render.finish import ChapterMarker, RenderExtras, add_extras
from genesis_pipeline.stages.render.params import (
    MODES,
    NARRATION_FADE_S,
    VERSION,
    AssemblyParams,
    NarrationClipLike,
    RenderResult,
    check_params,
)
from genesis_pipeline.stages.render.plan import RenderPlan, plan_render
from genesis_pipeline.stages.render.reencode import render_reencode
from genesis_pipeline.stages.render.smart import render_smart
from genesis_pipeline.stages.timeline import CutSegment


class Renderer(Protocol):
    """One render mode: writes ``plan`` to ``out_path`` (atomically) and measures the file.

    Raises:
        MediaToolError: ffmpeg failed (the message carries ffmpeg's own).
        ToolNotFoundError: ffmpeg is missing.
    """

    def __call__(
        self, plan: RenderPlan, params: AssemblyParams, out_path: Path, progress: Progress
    ) -> RenderResult: ...


RENDERERS: dict[str, Renderer] = {"reencode": render_reencode, "smart": render_smart}
"""The render modes (:data:`MODES`) and what renders each."""


def render_cut(
    segments: Sequence[CutSegment],
    out_path: Path,
    params: AssemblyParams = AssemblyParams(),  # noqa: B008 (frozen: never mutated)
    narration: Sequence[NarrationClipLike] = (),
    progress: Progress = no_progress,
    extras: RenderExtras = RenderExtras(),  # noqa: B008 (frozen: never mutated)
) -> RenderResult:
    """Render ``segments`` in order, with ``narration`` mixed over the ducked bed, to ``out_path``.

    The file is written under a temporary name beside ``out_path`` and renamed into place only
    when complete, so a failed or killed render never leaves a partial file there.

    Args:
        segments: the kept pieces, in cut order.
        out_path: the MP4 to write (replaced if it exists).
        params: output format, gains, ducking and mode.
        narration: voice-over clips placed on the cut timeline.
        progress: ``(done_ms, total_ms, note)`` callback.
        extras: chapter markers and a soft subtitle track, added in a last stream-copy pass
            (:mod:`~genesis_pipeline.stages.render.finish`).

    Returns:
        What was written, measured on the file.

    Raises:
        InvalidSettingError: nothing to render, a malformed segment or clip, or a bad parameter.
        InvalidMediaError: a media or narration file is missing or is not usable media.
        MediaToolError: ffmpeg failed (the message carries ffmpeg's own).
        ToolNotFoundError: ffmpeg is missing.
    """
    check_params(params)
    if not segments:
        raise InvalidSettingError("segments", "nothing approved to render")
    plan = plan_render(segments, params, narration)
    out_path = Path(out_path)
    if not extras:
        return RENDERERS[params.mode](plan, params, out_path, progress)
    # The render goes to a temporary beside the target (its writer's pid in the name, so a
    # killed run's leftover is cleaned up), the last pass writes the target.
    bare = out_path.with_name(f"{TMP_PREFIX}p{os.getpid()}-{uuid.uuid4().hex[:8]}-{out_path.name}")
    try:
        result = RENDERERS[params.mode](plan, params, bare, progress)
        add_extras(bare, out_path, extras, plan.rate, result.frames)
    finally:
        bare.unlink(missing_ok=True)
    return replace(result, path=out_path)


__all__ = [
    "MODES",
    "NARRATION_FADE_S",
    "RENDERERS",
    "VERSION",
    "AssemblyParams",
    "ChapterMarker",
    "RenderExtras",
    "RenderResult",
    "Renderer",
    "render_cut",
]
