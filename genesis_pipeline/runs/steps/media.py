"""Step: every media file is still where the store says, with the size it had."""

from __future__ import annotations

from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.runs.context import RunContext, StepOutcome


def run(ctx: RunContext) -> StepOutcome:
    """Raises: InvalidMediaError: a file is missing or changed since it was added."""
    total = 0.0
    for m in ctx.media:
        p = ctx.store.location(m.path)
        size = ctx.store.object_size(m.path)
        if size is None:
            raise InvalidMediaError(m.original_name, f"media file is missing at {p}")
        if size != m.size_bytes:
            raise InvalidMediaError(
                m.original_name, f"changed on disk since it was added ({p}); add it again"
            )
        total += m.duration_s
    return StepOutcome(
        counts={
            "media": len(ctx.media),
            "video": sum(m.has_video for m in ctx.media),
            "audio_only": sum(not m.has_video for m in ctx.media),
            "duration_s": round(total, 3),
        }
    )
