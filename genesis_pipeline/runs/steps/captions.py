"""Step: caption each scene's previews (BLIP), cached per scene set and model.

When the caption model cannot be loaded the step is recorded as skipped with the reason and the
run goes on; captions from an earlier run of the same scenes stay.
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.errors import ModelUnavailableError
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.executor import Call, StepProgress, model_config, tasks
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import CaptionUpdate

if TYPE_CHECKING:
    from genesis_pipeline.ml.device import DevicePlan
    from genesis_pipeline.stages.captions import CaptionParams, CaptionResult

STAGE = "captions"


def params_for(ctx: RunContext, plan: DevicePlan | None = None) -> CaptionParams:
    """The project's caption params (saved overrides over the batch size of the device plan the
    model runs with: ``plan``, else the run's)."""
    from genesis_pipeline.stages.captions import CaptionParams

    plan = plan or ctx.plan
    return ctx.params(CaptionParams, "caption_params", batch_size=plan.caption_batch_size)


def run(ctx: RunContext) -> StepOutcome:
    from genesis_pipeline.stages.captions import VERSION, CaptionResult

    scene_keys = ctx.results.scene_keys
    if not scene_keys:
        return StepOutcome(status="skipped", note="no scenes to caption")
    config = model_config(ctx.store.settings, "captions")
    info = ctx.executor.model_info(config)
    if info.error is not None:
        ctx.models["captions"] = {"skipped": info.error}
        return StepOutcome(status="skipped", note=f"captions skipped: {info.error}")
    identity = info.identity
    ctx.models["captions"] = {
        "identity": identity,
        "device": info.plan.device,
        "dtype": info.plan.caption_dtype,
        **({"worker": info.where} if info.where != "local" else {}),
    }
    params = params_for(ctx, info.plan)
    with ctx.store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, ctx.project_id)
    media_ids = list(scene_keys)
    groups = {mid: [s for s in scenes if s.media_id == mid] for mid in media_ids}
    keys = {
        mid: stage_key(STAGE, VERSION, params, {"scenes": scene_keys[mid], "model": identity})
        for mid in media_ids
    }

    def load(d: Path) -> CaptionResult:
        return serde.from_json(CaptionResult, json.loads((d / "captions.json").read_text()))

    found, misses = ctx.lookup_each(STAGE, keys, load)
    calls = [
        Call(
            tasks.caption_previews,
            (
                ctx.store.access,
                [[ctx.store.location(p) for p in s.metadata.previews] for s in groups[mid]],
                params,
            ),
            f"media {mid}",
            config,
        )
        for mid in misses
    ]
    t0 = time.monotonic()
    took: dict[int, float] = {}
    worker: dict[int, dict[str, Any]] = {}
    try:
        for i, result in ctx.executor.run(calls, StepProgress(ctx.progress, len(calls))):
            mid = misses[i]
            ctx.store_entry(STAGE, keys[mid], partial(_write, result=result))
            found[mid] = result
            took[mid] = time.monotonic() - t0
            worker[mid] = ctx.executor.where(i)
    except ModelUnavailableError as exc:
        ctx.models["captions"] = {"skipped": str(exc)}
        return StepOutcome(status="skipped", note=f"captions skipped: {exc}", details={"items": []})
    hits, n = 0, 0
    items: list[dict[str, Any]] = []
    for mid in media_ids:
        key, result, hit = keys[mid], found[mid], mid not in took
        hits += hit
        n += len(result.captions)
        updates: dict[int, CaptionUpdate] = {}
        for scene, cap in zip(groups[mid], result.captions, strict=True):
            if scene.metadata.caption_key == key and not ctx.force:
                continue
            updates[scene.id] = CaptionUpdate(
                caption_key=key,
                caption=cap.text,
                caption_confidence=cap.confidence,
                captions=[list(p) for p in cap.per_preview],
                caption_model=result.model,
            )
        if updates:
            with ctx.store.db.write() as con:
                scenes_sql.merge_scene_metadata(con, updates)
        items.append(
            {
                "media_id": int(mid),
                "cache_hit": hit,
                "captions": len(result.captions),
                "duration_s": round(took.get(mid, 0.0), 3),
                **({"worker": worker[mid]} if worker.get(mid) else {}),
            }
        )
    return StepOutcome(
        cache_hit=hits == len(media_ids),
        counts={"captions": n, "cache_hits": hits},
        details={"items": items, "model": identity},
    )


def _write(d: Path, *, result: CaptionResult) -> None:
    (d / "captions.json").write_text(json.dumps(serde.to_json(result)))
