"""Step: detect scenes and extract previews for each video file (PySceneDetect), cached per file.

Also keeps each scene's transcript confidence (mean word probability inside the scene) current.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.errors import StorageError
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.executor import Call, StepProgress, tasks
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import traces as traces_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.cache import MANIFEST, stage_key
from genesis_pipeline.store.records import TranscriptConfidenceUpdate

if TYPE_CHECKING:
    from genesis_pipeline.stages.scenes import SceneParams, Transition

STAGE = tasks.SCENES_STAGE


def params_for(ctx: RunContext) -> SceneParams:
    """The project's scene detection params (saved overrides over the defaults)."""
    from genesis_pipeline.stages.scenes import SceneParams

    return ctx.params(SceneParams, "scene_params")


def _transition(t: Transition | None) -> dict[str, object]:
    """A scene's opening boundary for its ``detection`` metadata (nothing for a first scene)."""
    if t is None:
        return {}
    return {
        "transition": t.kind,
        "transition_start_s": round(t.start_s, 4),
        "transition_end_s": round(t.end_s, 4),
        **({"transition_style": t.style} if t.style else {}),
    }


def run(ctx: RunContext) -> StepOutcome:
    from genesis_pipeline.stages.scenes import VERSION, SceneList

    params = params_for(ctx)
    videos = [m for m in ctx.media if m.has_video]
    keys = {m.id: stage_key(STAGE, VERSION, params, {"media": m.sha256}) for m in videos}

    def load(d: Path) -> tasks.DetectedScenes:
        result = serde.from_json(SceneList, json.loads((d / "scenes.json").read_text()))
        for s in result.scenes:
            for name in s.previews:
                if not (d / "previews" / name).is_file():
                    raise FileNotFoundError(name)
        trace = (d / result.trace).read_bytes() if result.trace else None
        return tasks.DetectedScenes(result, "", {}, trace)

    found, missed = ctx.lookup_each(STAGE, keys, load)
    misses = [m for m in videos if m.id in missed]
    if ctx.force:  # the workers publish the entries; forced ones are made again
        for m in misses:
            ctx.store.cache.delete(STAGE, keys[m.id])
    calls = [
        Call(
            tasks.detect_scenes_in,
            (
                ctx.store.access,
                ctx.media_locator(m),
                params,
                keys[m.id],
                ctx.store.settings.device,
            ),
            m.original_name,
        )
        for m in misses
    ]
    t0 = time.monotonic()
    took: dict[int, float] = {}
    worker: dict[int, dict[str, Any]] = {}
    for i, detected in ctx.executor.run(calls, StepProgress(ctx.progress, len(calls))):
        m = misses[i]
        check_published(ctx, detected)
        found[m.id] = detected
        took[m.id] = time.monotonic() - t0
        worker[m.id] = ctx.executor.where(i)
    hits, n_scenes, items = 0, 0, []
    for m in videos:
        key = keys[m.id]
        scenes = found[m.id].scenes
        hit = m.id not in took
        hits += hit
        n_scenes += len(scenes.scenes)
        with ctx.store.db.read() as con:
            stored = scenes_sql.scene_key(con, m.id)
        if stored != key or ctx.force:
            preview_dir = _publish_previews(ctx, m.id, key)
            rows = []
            for s in scenes.scenes:
                previews = [f"{preview_dir}/{p}" for p in s.previews]
                rows.append(
                    {
                        "idx": s.index,
                        "start_frame": s.start_frame,
                        "end_frame": s.end_frame,
                        "start_s": s.start_s,
                        "end_s": s.end_s,
                        "preview_path": previews[0] if previews else None,
                        "metadata": {
                            "previews": previews,
                            "detection": {
                                "cut_score": s.cut_score,
                                "confidence": s.confidence,
                                "detector": params.detector,
                                "threshold": params.effective_threshold,
                                **_transition(s.transition),
                            },
                        },
                    }
                )
            with ctx.store.db.write() as con:
                scenes_sql.replace_scenes(
                    con, project_id=ctx.project_id, media_id=m.id, cache_key=key, rows=rows
                )
                traces_sql.replace_trace(
                    con,
                    project_id=ctx.project_id,
                    media_id=m.id,
                    cache_key=key,
                    detector=params.detector,
                    frames=scenes.frame_count,
                    trace=found[m.id].trace,
                )
        items.append(
            {
                "media_id": m.id,
                "cache_hit": hit,
                "scenes": len(scenes.scenes),
                "duration_s": round(took.get(m.id, 0.0), 3),
                **({"worker": worker[m.id]} if worker.get(m.id) else {}),
            }
        )
    ctx.results.scene_keys = keys
    ctx.results.wait_for("transcribe")  # each scene's speech needs the transcripts
    updated = update_transcript_confidence(ctx)
    skipped_audio = [m.original_name for m in ctx.media if not m.has_video]
    # Which detector ran goes in the step's note (the Run page shows it) and its details.
    detector = params.detector + (
        " + gradual pass" if params.gradual and params.detector != "transnetv2" else ""
    )
    audio_only = "audio-only, no scenes: " + ", ".join(skipped_audio) if skipped_audio else None
    if not videos:
        return StepOutcome(status="skipped", note=audio_only or "no video", counts={"scenes": 0})
    note = f"detector: {detector}" + (f"; {audio_only}" if audio_only else "")
    return StepOutcome(
        cache_hit=hits == len(videos),
        counts={
            "media": len(videos),
            "scenes": n_scenes,
            "cache_hits": hits,
            "transcript_confidence_updates": updated,
        },
        note=note,
        details={"items": items, "detector": detector},
    )


def check_published(ctx: RunContext, detected: tasks.DetectedScenes) -> None:
    """The worker's cache entry is there, complete: its manifest and each preview at the size
    the worker uploaded (rows then point only at objects that exist).

    Raises:
        StorageError: the entry or a preview is missing, or another size (names it).
    """
    storage = ctx.store.storage
    if not storage.exists(f"{detected.entry}/{MANIFEST}"):
        raise StorageError(f"{storage.uri(detected.entry)}: the worker's scenes are not there")
    there = {
        o.key.rsplit("/", 1)[-1]: o.size for o in storage.list_prefix(f"{detected.entry}/previews")
    }
    for name, size in detected.previews.items():
        if there.get(name) != size:
            where = storage.uri(f"{detected.entry}/previews/{name}")
            have = "missing" if name not in there else f"{there[name]} bytes, not {size}"
            raise StorageError(f"{where}: the preview the worker published is {have}")


def _publish_previews(ctx: RunContext, media_id: int, key: str) -> str:
    """Hard-link (S3: copy) a cache entry's previews to
    ``scene_previews/<project>/<media>/<key>/``; returns that key."""
    src = f"cache/{STAGE}/{key}/previews"
    final = ctx.store.project_key("scene_previews", ctx.project_id, media_id, key[:16])
    # Older preview sets of this media are no longer referenced by any row.
    return ctx.store.publish_tree(src, final, replace=ctx.force, only=True)


def update_transcript_confidence(ctx: RunContext) -> int:
    """Store each scene's mean word probability (words whose midpoint lies in the scene), for
    the scenes whose transcript changed since (nothing is read but the scenes when none did)."""
    transcript_keys = ctx.results.transcript_keys
    with ctx.store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, ctx.project_id)
        stale = [
            s
            for s in scenes
            if ctx.force or s.metadata.transcript_key != transcript_keys.get(s.media_id)
        ]
        found = (
            transcripts_sql.word_confidence_in_scenes(con, [s.id for s in stale]) if stale else {}
        )
    updates = {
        s.id: TranscriptConfidenceUpdate(
            transcript_key=transcript_keys.get(s.media_id),
            word_count=found[s.id][0],
            transcript_confidence=found[s.id][1],
        )
        for s in stale
    }
    if updates:
        with ctx.store.db.write() as con:
            scenes_sql.merge_scene_metadata(con, updates)
    return len(updates)
