"""Step: detect scenes and extract previews for each video file (PySceneDetect), cached per file.

Also keeps each scene's transcript confidence (mean word probability inside the scene) current.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from genesis_pipeline import serde
from genesis_pipeline.files import atomic_dir
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.store import results as results_sql
from genesis_pipeline.store.cache import stage_key

STAGE = "scenes"


def params_for(ctx: RunContext) -> Any:
    from genesis_pipeline.stages.scenes import SceneParams

    return ctx.params(SceneParams, "scene_params")


def run(ctx: RunContext) -> StepOutcome:
    from genesis_pipeline.stages.scenes import VERSION, SceneList, detect_scenes

    params = params_for(ctx)
    videos = [m for m in ctx.media if m.has_video]
    hits, n_scenes, items = 0, 0, []
    keys: dict[int, str] = {}
    for i, m in enumerate(videos):
        key = stage_key(STAGE, VERSION, params, {"media": m.sha256})
        keys[m.id] = key
        t0 = time.monotonic()
        path = ctx.media_path(m)

        def load(d: Path) -> SceneList:
            result = serde.from_json(SceneList, json.loads((d / "scenes.json").read_text()))
            for s in result.scenes:
                for name in s.previews:
                    if not (d / "previews" / name).is_file():
                        raise FileNotFoundError(name)
            return result

        def compute(d: Path, path: Path = path, i: int = i, name: str = m.original_name) -> None:
            def prog(done: int, total: int, note: str) -> None:
                ctx.progress(
                    i * 1000 + int(1000 * done / max(total, 1)),
                    len(videos) * 1000,
                    f"{name}: {note}",
                )

            result = detect_scenes(path, d / "previews", params, prog)
            (d / "scenes.json").write_text(json.dumps(serde.to_json(result)))

        scenes, hit = ctx.cached(STAGE, key, load, compute)
        hits += hit
        n_scenes += len(scenes.scenes)
        with ctx.store.db.read() as con:
            stored = results_sql.scene_key(con, m.id)
        if stored != key or ctx.force:
            preview_dir = _publish_previews(ctx, m.id, key)
            rows = []
            for s in scenes.scenes:
                previews = [ctx.store.relative(preview_dir / p) for p in s.previews]
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
                            },
                        },
                    }
                )
            with ctx.store.db.write() as con:
                results_sql.replace_scenes(
                    con, project_id=ctx.project_id, media_id=m.id, cache_key=key, rows=rows
                )
        items.append(
            {
                "media_id": m.id,
                "cache_hit": hit,
                "scenes": len(scenes.scenes),
                "duration_s": round(time.monotonic() - t0, 3),
            }
        )
    ctx.state["scene_keys"] = keys
    updated = update_transcript_confidence(ctx)
    skipped_audio = [m.original_name for m in ctx.media if not m.has_video]
    note = None
    if skipped_audio:
        note = "audio-only, no scenes: " + ", ".join(skipped_audio)
    if not videos:
        return StepOutcome(status="skipped", note=note or "no video", counts={"scenes": 0})
    return StepOutcome(
        cache_hit=hits == len(videos),
        counts={
            "media": len(videos),
            "scenes": n_scenes,
            "cache_hits": hits,
            "transcript_confidence_updates": updated,
        },
        note=note,
        details={"items": items},
    )


def _publish_previews(ctx: RunContext, media_id: int, key: str) -> Path:
    """Hard-link a cache entry's previews to ``scene_previews/<project>/<media>/<key>/``."""
    src = ctx.store.cache.entry(STAGE, key) / "previews"
    final = ctx.store.project_dir("scene_previews", ctx.project_id) / str(media_id) / key[:16]
    if final.is_dir() and not ctx.force:
        return final
    if final.exists():
        shutil.rmtree(final)
    with atomic_dir(final) as tmp:
        for p in src.iterdir():
            try:
                os.link(p, tmp / p.name)
            except OSError:  # another filesystem: copy
                shutil.copyfile(p, tmp / p.name)
    # Older preview sets of this media are no longer referenced by any row.
    for old in final.parent.iterdir():
        if old != final and not old.name.startswith("."):
            with contextlib.suppress(OSError):
                shutil.rmtree(old)
    return final


def update_transcript_confidence(ctx: RunContext) -> int:
    """Store each scene's mean word probability (words whose midpoint lies in the scene)."""
    transcript_keys = ctx.state.get("transcript_keys", {})
    with ctx.store.db.read() as con:
        scenes = con.execute(
            "SELECT id, media_id, start_s, end_s, metadata_json FROM scenes WHERE project_id = ?",
            [ctx.project_id],
        ).df()
        words = results_sql.words_for_project(con, ctx.project_id)
    if scenes.empty:
        return 0
    updates: dict[int, dict[str, Any]] = {}
    for media_id, group in scenes.groupby("media_id"):
        tkey = transcript_keys.get(int(media_id))
        w = words[words.media_id == media_id]
        mids = ((w.start_s + w.end_s) / 2).to_numpy()
        probs = w.probability.to_numpy()
        for row in group.itertuples():
            meta = json.loads(row.metadata_json or "{}")
            if meta.get("transcript_key") == tkey and not ctx.force:
                continue
            inside = (mids >= row.start_s) & (mids < row.end_s)
            n = int(inside.sum())
            updates[int(row.id)] = {
                "transcript_key": tkey,
                "word_count": n,
                "transcript_confidence": float(probs[inside].mean()) if n else None,
            }
    if updates:
        with ctx.store.db.write() as con:
            results_sql.merge_scene_metadata(con, updates)
    return len(updates)
