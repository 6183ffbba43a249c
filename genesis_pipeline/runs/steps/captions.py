"""Step: caption each scene's previews (BLIP), cached per scene set and model.

When the caption model cannot be loaded the step is recorded as skipped with the reason and the
run goes on; captions from an earlier run of the same scenes stay.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.errors import ModelUnavailableError
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import CaptionUpdate

if TYPE_CHECKING:
    from genesis_pipeline.stages.captions import CaptionParams

STAGE = "captions"


def params_for(ctx: RunContext) -> CaptionParams:
    """The project's caption params (saved overrides over the device plan's batch size)."""
    from genesis_pipeline.stages.captions import CaptionParams

    return ctx.params(CaptionParams, "caption_params", batch_size=ctx.plan.caption_batch_size)


def run(ctx: RunContext) -> StepOutcome:
    from genesis_pipeline.ml.blip import captioner_identity, load_captioner
    from genesis_pipeline.stages.captions import VERSION, CaptionResult, caption_scenes

    scene_keys = ctx.results.scene_keys
    if not scene_keys:
        return StepOutcome(status="skipped", note="no scenes to caption")
    settings = ctx.store.settings
    try:
        identity = captioner_identity(settings.caption_model, ctx.plan, settings.offline)
    except ModelUnavailableError as exc:
        ctx.models["captions"] = {"skipped": str(exc)}
        return StepOutcome(status="skipped", note=f"captions skipped: {exc}")
    ctx.models["captions"] = {
        "identity": identity,
        "device": ctx.plan.device,
        "dtype": ctx.plan.caption_dtype,
    }
    params = params_for(ctx)
    with ctx.store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, ctx.project_id)
    hits, n = 0, 0
    items: list[dict[str, Any]] = []
    media_ids = list(scene_keys)
    for i, media_id in enumerate(media_ids):
        group = [s for s in scenes if s.media_id == media_id]
        previews = [list(s.metadata.previews) for s in group]
        key = stage_key(STAGE, VERSION, params, {"scenes": scene_keys[media_id], "model": identity})
        t0 = time.monotonic()

        def load(d: Path) -> CaptionResult:
            return serde.from_json(CaptionResult, json.loads((d / "captions.json").read_text()))

        def compute(d: Path, previews: list[list[str]] = previews, i: int = i) -> None:
            files = [[ctx.store.local_path(p) for p in ps] for ps in previews]
            captioner = load_captioner(settings.caption_model, ctx.plan, settings.offline)

            def prog(done: int, total: int, note: str) -> None:
                ctx.progress(
                    i * 1000 + int(1000 * done / max(total, 1)), len(media_ids) * 1000, note
                )

            result = caption_scenes(files, captioner, params, prog)
            (d / "captions.json").write_text(json.dumps(serde.to_json(result)))

        try:
            result, hit = ctx.cached(STAGE, key, load, compute)
        except ModelUnavailableError as exc:
            ctx.models["captions"] = {"skipped": str(exc)}
            return StepOutcome(
                status="skipped", note=f"captions skipped: {exc}", details={"items": items}
            )
        hits += hit
        n += len(result.captions)
        updates: dict[int, CaptionUpdate] = {}
        for scene, cap in zip(group, result.captions, strict=True):
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
                "media_id": int(media_id),
                "cache_hit": hit,
                "captions": len(result.captions),
                "duration_s": round(time.monotonic() - t0, 3),
            }
        )
    return StepOutcome(
        cache_hit=hits == len(media_ids),
        counts={"captions": n, "cache_hits": hits},
        details={"items": items, "model": identity},
    )
