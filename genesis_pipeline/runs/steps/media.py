"""Step: every media file is still where the store says, with the size it had, and, under
``ray``, files the workers read at a path (the data dir, host-folder imports) are readable on
them too (checked before the first work is sent)."""

from __future__ import annotations

from functools import partial
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
    ctx.executor.before_work(partial(check_shared, ctx))
    return StepOutcome(
        counts={
            "media": len(ctx.media),
            "video": sum(m.has_video for m in ctx.media),
            "audio_only": sum(not m.has_video for m in ctx.media),
            "duration_s": round(total, 3),
        }
    )


def check_shared(ctx: RunContext) -> None:
    """Files a worker reads at a path (local storage: the data dir; footage registered in place
    from a folder of the app host) must be there on the workers too (a shared mount): under
    ``ray`` a worker checks, once, before the first work is sent (a run whose steps all hit the
    cache never asks); the local executor reads them here.

    Raises:
        InvalidSettingError: naming ``GENESIS_STORAGE`` and the first file a worker cannot read.
    """
    at_paths = {ctx.media_locator(m): m for m in ctx.media}
    at_paths = {loc: m for loc, m in at_paths.items() if not loc.startswith("s3://")}
    if not at_paths:
        return
    files = tuple((loc, m.size_bytes) for loc, m in at_paths.items())
    call = Call(tasks.unreadable_files, (files,), "shared files")
    [(_, unreadable)] = list(ctx.executor.run([call], StepProgress(ctx.progress, 1)))
    if not unreadable:
        return
    first = at_paths[unreadable[0]]
    node = str(ctx.executor.where(0).get("node", "?"))[:12]
    more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
    if Path(first.path).is_absolute():
        where = f"was imported from a folder of the app host ({first.path}){more}"
        fix = "mount that folder at the same path on every worker, or use S3 storage "
        fix += "(s3://bucket/prefix) and import it again, which copies it into the storage"
    else:
        where = f"is in the data dir {ctx.store.home} ({unreadable[0]}){more}"
        fix = "share the data dir at the same path on every worker, or use S3 storage "
        fix += "(s3://bucket/prefix)"
    raise InvalidSettingError(
        "GENESIS_STORAGE",
        f"{first.original_name} {where}, which the Ray workers cannot read (node {node}); {fix}",
    )
