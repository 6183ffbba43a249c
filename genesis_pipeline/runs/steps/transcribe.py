"""Step: transcribe each media file with audio (faster-whisper), cached per file and model."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import MediaFile

if TYPE_CHECKING:
    from genesis_pipeline.stages.transcribe import TranscribeParams

STAGE = "transcribe"


def params_for(ctx: RunContext) -> TranscribeParams:
    """The project's transcribe params (saved overrides over the device plan's batch sizes)."""
    from genesis_pipeline.stages.transcribe import TranscribeParams

    return ctx.params(
        TranscribeParams,
        "transcribe_params",
        batch_size=ctx.plan.whisper_batch_size,
        workers=ctx.plan.whisper_workers,
    )


def run(ctx: RunContext) -> StepOutcome:
    from genesis_pipeline.ml.whisper import load_whisper, resolve_whisper_model
    from genesis_pipeline.stages.transcribe import VERSION, Transcript, transcribe

    settings = ctx.store.settings
    spec = resolve_whisper_model(settings.whisper_model, settings.offline)
    ctx.models["whisper"] = {
        "identity": spec.identity,
        "fallback": spec.fallback,
        "note": spec.note,
        "compute_type": ctx.plan.whisper_compute_type,
        "device": ctx.plan.device,
    }
    params = params_for(ctx)
    media = ctx.media
    hits, words, audio_s, items = 0, 0, 0.0, []
    keys: dict[int, str] = {}
    for i, m in enumerate(media):
        key = stage_key(STAGE, VERSION, params, {"media": m.sha256, "model": spec.identity})
        keys[m.id] = key
        t0 = time.monotonic()

        def load(d: Path) -> Transcript:
            return serde.from_json(Transcript, json.loads((d / "transcript.json").read_text()))

        def compute(d: Path, m: MediaFile = m, i: int = i) -> dict[str, Any]:
            path = ctx.media_path(m)
            # The stage decodes the audio before touching the model; media without sound
            # never needs it, so do not pay seconds to load it.
            model = load_whisper(spec, ctx.plan) if m.has_audio else None

            def prog(done: int, total: int, note: str) -> None:
                ctx.progress(
                    i * 1000 + int(1000 * done / max(total, 1)),
                    len(media) * 1000,
                    f"{m.original_name}: {note}",
                )

            result = transcribe(path, model, params, prog, model_identity=spec.identity)
            (d / "transcript.json").write_text(json.dumps(serde.to_json(result)))
            return {"media_sha256": m.sha256}

        transcript, hit = ctx.cached(STAGE, key, load, compute)
        hits += hit
        words += len(transcript.words)
        audio_s += m.duration_s if m.has_audio else 0.0
        with ctx.store.db.read() as con:
            stored = transcripts_sql.transcript_key(con, m.id)
        if stored != key or ctx.force:
            doc = serde.to_json(transcript)
            artifact = ctx.store.project_key("artifacts", ctx.project_id, "transcripts")
            artifact_path = ctx.store.put_json(f"{artifact}/media-{m.id}.json", doc)
            with ctx.store.db.write() as con:
                transcripts_sql.replace_transcript(
                    con,
                    project_id=ctx.project_id,
                    media_id=m.id,
                    run_id=ctx.run_id,
                    cache_key=key,
                    transcript=doc,
                    artifact_path=artifact_path,
                )
        items.append(
            {
                "media_id": m.id,
                "cache_hit": hit,
                "words": len(transcript.words),
                "language": transcript.language,
                "duration_s": round(time.monotonic() - t0, 3),
            }
        )
        ctx.progress((i + 1) * 1000, len(media) * 1000, f"{m.original_name}: transcribed")
    ctx.results.transcript_keys = keys
    return StepOutcome(
        cache_hit=bool(media) and hits == len(media),
        counts={"media": len(media), "words": words, "cache_hits": hits, "audio_s": audio_s},
        note=spec.note,
        details={"items": items, "model": spec.identity, "fallback": spec.fallback},
    )
