"""Step: a playable copy (proxy) of every media file a browser cannot play, cached per content.

The app's background worker usually made them already (right after the upload): those are
found recorded or in the stage cache; one that worker is still making is left to it, so a run
neither waits for nor redoes it. Under ``ray`` each missing copy is a CPU task on a worker. A
copy that cannot be made is noted; the run goes on.
"""

from __future__ import annotations

from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.proxy_worker import worker_encoder
from genesis_pipeline.services import playback


def run(ctx: RunContext) -> StepOutcome:
    params = playback.proxy_params(ctx.project)
    media = ctx.media
    encode = worker_encoder(ctx.executor, ctx.store.access)
    outcomes = []
    for i, m in enumerate(media):

        def prog(done: int, total: int, note: str, i: int = i) -> None:
            ctx.progress(i * 1000 + int(1000 * done / max(total, 1)), len(media) * 1000, note)

        outcomes.append(
            playback.ensure_proxy(
                ctx.store,
                ctx.project,
                m,
                params=params,
                force=ctx.force,
                retry_failed=True,  # a run is an explicit request: try a failed copy again
                progress=prog,
                encode=encode,
            )
        )
        ctx.progress((i + 1) * 1000, len(media) * 1000, f"{m.original_name}: checked")
    by: dict[str, list[str]] = {}
    for o in outcomes:
        by.setdefault(o.status, []).append(o.name)
    needed = len(media) - len(by.get("playable", []))
    counts = {
        "media": len(media),
        "needed": needed,
        "made": len(by.get("made", [])),
        "cache_hits": len(by.get("ready", [])) + len(by.get("cached", [])),
        "in_background": len(by.get("busy", [])),
        "failed": len(by.get("failed", [])),
    }
    items = [
        {
            "media_id": o.media_id,
            "status": o.status,
            **({"reason": o.reason} if o.reason else {}),
            **({"error": o.error} if o.error else {}),
            **(
                {"encode_s": o.proxy.encode_s, "size_bytes": o.proxy.size_bytes}
                if o.proxy and o.status == "made"
                else {}
            ),
        }
        for o in outcomes
    ]
    if not needed:
        return StepOutcome(
            status="skipped", note="every file plays in browsers as it is", counts=counts
        )
    notes = []
    if by.get("busy"):
        notes.append("being made in the background: " + ", ".join(by["busy"]))
    for o in outcomes:
        if o.status == "failed":
            notes.append(f"no playable copy of {o.name}: {o.error}")
    return StepOutcome(
        cache_hit=counts["cache_hits"] == needed,
        counts=counts,
        note="; ".join(notes) or None,
        details={"items": items},
    )
