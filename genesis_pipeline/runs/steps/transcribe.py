"""Step: transcribe each media file with audio (faster-whisper), cached per file and model."""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.executor import Call, StepProgress, model_config, tasks
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import MediaFile

if TYPE_CHECKING:
    from genesis_pipeline.ml.device import DevicePlan
    from genesis_pipeline.stages.transcribe import TranscribeParams, Transcript

STAGE = "transcribe"


def params_for(ctx: RunContext, plan: DevicePlan | None = None) -> TranscribeParams:
    """The project's transcribe params (saved overrides over the batch sizes of the device plan
    the model runs with: ``plan``, else the run's)."""
    from genesis_pipeline.stages.transcribe import TranscribeParams

    plan = plan or ctx.plan
    return ctx.params(
        TranscribeParams,
        "transcribe_params",
        batch_size=plan.whisper_batch_size,
        workers=plan.whisper_workers,
    )


def run(ctx: RunContext) -> StepOutcome:
    from genesis_pipeline.stages.transcribe import VERSION, Transcript

    config = model_config(ctx.store.settings, "whisper")
    info = ctx.executor.model_info(config)
    ctx.models["whisper"] = {
        "identity": info.identity,
        "fallback": info.fallback,
        "note": info.note,
        "compute_type": info.plan.whisper_compute_type,
        "device": info.plan.device,
        **({"worker": info.where} if info.where != "local" else {}),
    }
    params = params_for(ctx, info.plan)
    media = ctx.media
    keys = {
        m.id: stage_key(STAGE, VERSION, params, {"media": m.sha256, "model": info.identity})
        for m in media
    }

    def load(d: Path) -> Transcript:
        return serde.from_json(Transcript, json.loads((d / "transcript.json").read_text()))

    found, missed = ctx.lookup_each(STAGE, keys, load)
    misses = [m for m in media if m.id in missed]
    # Every miss goes out at once; media without sound never needs the model (a CPU call).
    calls = [
        Call(
            tasks.transcribe_media,
            (ctx.store.access, ctx.media_locator(m), params, info.identity),
            m.original_name,
            config,
        )
        if m.has_audio
        else Call(
            tasks.transcribe_silent,
            (ctx.store.access, ctx.media_locator(m), params, info.identity),
            m.original_name,
        )
        for m in misses
    ]
    t0 = time.monotonic()
    took: dict[int, float] = {}
    worker: dict[int, dict[str, Any]] = {}
    progress = StepProgress(ctx.progress, len(calls))
    for i, transcript in ctx.executor.run(calls, progress):
        m = misses[i]
        ctx.store_entry(STAGE, keys[m.id], partial(_write, transcript=transcript, m=m))
        found[m.id] = transcript
        took[m.id] = time.monotonic() - t0
        worker[m.id] = ctx.executor.where(i)
    hits, words, audio_s, items = 0, 0, 0.0, []
    for m in media:
        transcript = found[m.id]
        hit = m.id not in took
        hits += hit
        words += len(transcript.words)
        audio_s += m.duration_s if m.has_audio else 0.0
        with ctx.store.db.read() as con:
            stored = transcripts_sql.transcript_key(con, m.id)
        if stored != keys[m.id] or ctx.force:
            doc = serde.to_json(transcript)
            artifact = ctx.store.project_key("artifacts", ctx.project_id, "transcripts")
            artifact_path = ctx.store.put_json(f"{artifact}/media-{m.id}.json", doc)
            with ctx.store.db.write() as con:
                transcripts_sql.replace_transcript(
                    con,
                    project_id=ctx.project_id,
                    media_id=m.id,
                    run_id=ctx.run_id,
                    cache_key=keys[m.id],
                    transcript=doc,
                    artifact_path=artifact_path,
                )
        items.append(
            {
                "media_id": m.id,
                "cache_hit": hit,
                "words": len(transcript.words),
                "language": transcript.language,
                "duration_s": round(took.get(m.id, 0.0), 3),
                **({"worker": worker[m.id]} if worker.get(m.id) else {}),
            }
        )
    ctx.results.transcript_keys = keys
    return StepOutcome(
        cache_hit=bool(media) and hits == len(media),
        counts={"media": len(media), "words": words, "cache_hits": hits, "audio_s": audio_s},
        note=info.note,
        details={"items": items, "model": info.identity, "fallback": info.fallback},
    )


def _write(d: Path, *, transcript: Transcript, m: MediaFile) -> dict[str, Any]:
    (d / "transcript.json").write_text(json.dumps(serde.to_json(transcript)))
    return {"media_sha256": m.sha256}
