"""Render the approved cut, with its narration, to one H.264/AAC MP4.

:func:`render_cut` is the one entry point: it checks the parameters, plans the cut on the
output's clock (:mod:`~genesis_pipeline.stages.render.plan`) and hands the plan to the
:class:`Renderer` of ``params.mode``: ``smart`` (stream-copy what the cut leaves whole, encode
around the cuts) or ``reencode`` (decode and encode everything). The modules import one way:
``params`` <- ``plan`` <- ``reencode`` / ``sound`` <- ``smart`` <- here (``docs/render.md``).
Chapters and a soft subtitle track are added last, by a stream copy, in both modes
(:mod:`~genesis_pipeline.stages.render.finish`). Burned-in subtitles are drawn while the pictures
are encoded, so a render that burns them in is a full re-encode whatever ``params.mode`` says
(the result's params say ``reencode``).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.files import tmp_prefix
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.stages.render.finish import ChapterMarker, RenderExtras, add_extras
from genesis_pipeline.stages.render.params import (
    MODES,
    NARRATION_FADE_S,
    VERSION,
    AssemblyParams,
    BurnIn,
    NarrationClipLike,
    RenderResult,
    SubtitleStyle,
    check_params,
)
from genesis_pipeline.stages.render.plan import RenderPlan, plan_render
from genesis_pipeline.stages.render.reencode import render_reencode
from genesis_pipeline.stages.render.smart import render_smart
from genesis_pipeline.stages.timeline import CutSegment

log = logging.getLogger(__name__)


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
            (:mod:`~genesis_pipeline.stages.render.finish`), and subtitles to burn in (the
            render is then a full re-encode).

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
    renderer = RENDERERS[params.mode]
    if extras.burn_in is not None:
        if params.mode != "reencode":
            # Text drawn into every picture: no picture of the sources can be copied.
            log.info("subtitles burned in: a full re-encode instead of a %s render", params.mode)
            params = replace(params, mode="reencode")
        renderer = functools.partial(render_reencode, burn_in=extras.burn_in)
    plan = plan_render(segments, params, narration)
    out_path = Path(out_path)
    if not extras.last_pass:
        return renderer(plan, params, out_path, progress)
    # The render goes to a temporary beside the target (its writer's pid in the name, so a
    # killed run's leftover is cleaned up), the last pass writes the target.
    bare = out_path.with_name(f"{tmp_prefix()}{uuid.uuid4().hex[:8]}-{out_path.name}")
    try:
        result = renderer(plan, params, bare, progress)
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
    "BurnIn",
    "ChapterMarker",
    "RenderExtras",
    "RenderResult",
    "Renderer",
    "SubtitleStyle",
    "render_cut",
]
