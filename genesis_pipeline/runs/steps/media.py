"""Step: every media file is still where the store says, with the size it had, and, under
``ray``, footage imported from a folder of the app host is readable on the workers too."""

from __future__ import annotations

from pathlib import Path

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.executor import Call, StepProgress, tasks


def run(ctx: RunContext) -> StepOutcome:
    """Raises: InvalidMediaError: a file is missing or changed since it was added.
    InvalidSettingError: the workers cannot read footage imported from a host folder."""
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
    check_shared(ctx)
    return StepOutcome(
        counts={
            "media": len(ctx.media),
            "video": sum(m.has_video for m in ctx.media),
            "audio_only": sum(not m.has_video for m in ctx.media),
            "duration_s": round(total, 3),
        }
    )


def check_shared(ctx: RunContext) -> None:
    """Footage registered in place from a folder of the app host (an absolute path) is read by
    the workers at that path: under ``ray`` a worker checks it can (a shared mount), before any
    work is sent; the local executor reads it here.

    Raises:
        InvalidSettingError: naming ``GENESIS_STORAGE`` and the first file a worker cannot read.
    """
    placed = [m for m in ctx.media if Path(m.path).is_absolute()]
    if not placed or ctx.executor.name == "local":
        return
    files = tuple((m.path, m.size_bytes) for m in placed)
    call = Call(tasks.unreadable_files, (files,), "host-folder imports")
    [(_, unreadable)] = list(ctx.executor.run([call], StepProgress(ctx.progress, 1)))
    if not unreadable:
        return
    first = next(m for m in placed if m.path == unreadable[0])
    node = ctx.executor.where(0).get("node", "?")
    more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
    raise InvalidSettingError(
        "GENESIS_STORAGE",
        f"{first.original_name} was imported from a folder of the app host ({first.path}){more} "
        f"that the Ray workers cannot read (node {str(node)[:12]}); mount that folder at the "
        "same path on every worker, or use S3 storage (s3://bucket/prefix) and import it again, "
        "which copies it into the storage",
    )
