"""Step: transcribe each media file with audio (faster-whisper), cached per file and model."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.progress import Progress
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.executor import (
    Call,
    Executor,
    ModelConfig,
    StepProgress,
    model_config,
    tasks,
)
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import MediaFile

if TYPE_CHECKING:
    from genesis_pipeline.ml.device import DevicePlan
    from genesis_pipeline.stages.transcribe import RecordingSpans, TranscribeParams, Transcript
    from genesis_pipeline.storage import StorageAccess

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
    files = [
        Recording(m.original_name, ctx.media_locator(m), m.has_audio, m.duration_s) for m in misses
    ]
    t0 = time.monotonic()
    took: dict[int, float] = {}
    worker: dict[int, list[dict[str, Any]]] = {}
    for i, transcript, where in transcribe_files(
        ctx.executor, ctx.store.access, files, params, info.identity, config, ctx.progress
    ):
        m = misses[i]
        ctx.store_entry(STAGE, keys[m.id], partial(_write, transcript=transcript, m=m))
        found[m.id] = transcript
        took[m.id] = time.monotonic() - t0
        worker[m.id] = [w for w in where if w]
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
                **({"worker": worker[m.id][0]} if worker.get(m.id) else {}),
                **({"span_workers": worker[m.id]} if len(worker.get(m.id, ())) > 1 else {}),
            }
        )
    ctx.results.transcript_keys = keys
    return StepOutcome(
        cache_hit=bool(media) and hits == len(media),
        counts={"media": len(media), "words": words, "cache_hits": hits, "audio_s": audio_s},
        note=info.note,
        details={"items": items, "model": info.identity, "fallback": info.fallback},
    )


@dataclass(frozen=True, slots=True)
class Recording:
    """A media file to transcribe, as the step hands it to :func:`transcribe_files`."""

    label: str
    locator: str
    has_audio: bool
    duration_s: float


def transcribe_files(
    executor: Executor,
    access: StorageAccess,
    files: Sequence[Recording],
    params: TranscribeParams,
    identity: str,
    config: ModelConfig,
    progress: Progress,
) -> Iterator[tuple[int, Transcript, list[dict[str, Any]]]]:
    """Transcribe ``files`` (read through ``access``) with ``executor``, yielding ``(index in
    files, transcript, where its calls ran)`` as each file completes. Every file goes out at
    once; media without sound never needs the model (a CPU call). When the executor runs
    several calls with the model at once (Ray with ``GENESIS_RAY_MODEL_ACTORS`` > 1), a
    recording longer than a span is cut into its spans first (one CPU call decodes it) and the
    spans go to the model actors at once; their join is the transcript
    :func:`stages.transcribe.transcribe` gives.
    """
    from genesis_pipeline.stages.transcribe import (
        SAMPLE_RATE,
        SEEK_S,
        SPAN_S,
        SpanTranscript,
        join_spans,
    )

    split = executor.model_slots(config) > 1
    long = [
        i for i, f in enumerate(files) if split and f.has_audio and f.duration_s > SPAN_S + SEEK_S
    ]
    recordings: dict[int, RecordingSpans] = {}
    if long:
        cuts = [Call(tasks.split_audio, (access, files[i].locator), files[i].label) for i in long]
        for j, recording in executor.run(cuts, StepProgress(progress, len(cuts))):
            recordings[long[j]] = recording
    calls: list[Call[Any]] = []
    owner: list[int] = []
    for i, f in enumerate(files):
        spans = recordings[i].spans if i in recordings else ()
        for first, samples in spans:
            duration = recordings[i].duration_s
            label = f"{f.label} from {first // SAMPLE_RATE} s"
            part = (samples, first, duration, params, f.label)
            calls.append(Call(tasks.transcribe_part, part, label, config))
            owner.append(i)
        if spans:
            continue
        whole = (access, f.locator, params, identity)
        if f.has_audio:
            calls.append(Call(tasks.transcribe_media, whole, f.label, config))
        else:
            calls.append(Call(tasks.transcribe_silent, whole, f.label))
        owner.append(i)
    expected = Counter(owner)
    parts: dict[int, list[SpanTranscript]] = {}
    where: dict[int, list[dict[str, Any]]] = {}
    for k, result in executor.run(calls, StepProgress(progress, len(calls))):
        i = owner[k]
        where.setdefault(i, []).append(executor.where(k))
        if isinstance(result, SpanTranscript):
            parts.setdefault(i, []).append(result)
            if len(parts[i]) < expected[i]:
                continue
            duration = recordings[i].duration_s
            result = join_spans(parts[i], duration, params, model_identity=identity)
        yield i, result, where[i]


def _write(d: Path, *, transcript: Transcript, m: MediaFile) -> dict[str, Any]:
    (d / "transcript.json").write_text(json.dumps(serde.to_json(transcript)))
    return {"media_sha256": m.sha256}
