"""What a render wrote, measured on the file: its frame count and the :class:`RenderResult`."""

from __future__ import annotations

from pathlib import Path

from genesis_pipeline.errors import MediaToolError
from genesis_pipeline.stages.render.params import AssemblyParams, RenderResult
from genesis_pipeline.stages.render.plan import RenderPlan


def count_frames(path: Path) -> int:
    """Video frames in a written MP4 (from its sample table, no decoding).

    Raises:
        MediaToolError: ffmpeg reported success but the file has no video, or it cannot be
            read back.
    """
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaToolError("render", f"{path.name} has no video stream")
            return int(c.streams.video[0].frames)
    except av.error.FFmpegError as exc:
        raise MediaToolError("render", f"{path.name} cannot be read back ({exc})") from None


def render_result(
    plan: RenderPlan,
    path: Path,
    frames: int,
    params: AssemblyParams,
    *,
    copied: int,
    encoded: int,
    sound_copied_s: float = 0.0,
    sound_offset_ms: float = 0.0,
) -> RenderResult:
    """The result of a render of ``plan`` whose file holds ``frames`` frames."""
    return RenderResult(
        path=path,
        duration_s=frames / float(plan.rate),
        frames=frames,
        width=plan.width,
        height=plan.height,
        fps=float(plan.rate),
        has_narration=bool(plan.clips),
        params=params,
        frames_copied=copied,
        frames_encoded=encoded,
        sound_copied_s=sound_copied_s,
        sound_offset_ms=sound_offset_ms,
        frames_conformed=plan.frames_conformed,
    )
