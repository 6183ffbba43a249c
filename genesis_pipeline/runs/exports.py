"""Exports that need a model: subtitles of a cut with narration transcribe its voiceovers with
the same Whisper model as the footage (cached per voiceover content and model, in the stage
cache under ``transcribe``), then hand the words to :mod:`genesis_pipeline.services.exports`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_pipeline import serde
from genesis_pipeline.services.exports import (
    SUBTITLE_EXPORTS,
    ExportPreview,
    ExportResult,
    VoiceoverWords,
    build_export,
    check_format,
    export_preview,
    load_project_cut,
)
from genesis_pipeline.services.upload import sha256_file
from genesis_pipeline.store import Store
from genesis_pipeline.store.cache import stage_key

if TYPE_CHECKING:
    from genesis_pipeline.services.cut import CutPlan
    from genesis_pipeline.stages.exports.cues import CueParams
    from genesis_pipeline.stages.narration import NarrationClip
    from genesis_pipeline.stages.render import RenderExtras

STAGE = "transcribe"


def voiceover_words(store: Store, clips: Sequence[NarrationClip]) -> list[VoiceoverWords]:
    """The words of each voiceover in ``clips`` on its own clock, transcribed by the project's
    Whisper model (cached like the transcribe step: same stage, key on the file's content and
    the model).

    Raises:
        InvalidMediaError: a voiceover cannot be decoded.
        ModelUnavailableError: the model cannot be loaded.
        StageError: the model failed.
    """
    from genesis_pipeline.ml.device import plan_devices
    from genesis_pipeline.ml.whisper import load_whisper, resolve_whisper_model
    from genesis_pipeline.stages.transcribe import VERSION, TranscribeParams, Transcript, transcribe

    if not clips:
        return []
    settings = store.settings
    spec = resolve_whisper_model(settings.whisper_model, settings.offline)
    plan = plan_devices(
        settings.device,
        whisper_compute_type=settings.whisper_compute_type,
        whisper_batch_size=settings.whisper_batch_size,
    )
    params = TranscribeParams(batch_size=plan.whisper_batch_size, workers=plan.whisper_workers)
    out = []
    for clip in clips:
        path = Path(clip.path)
        key = stage_key(
            STAGE, VERSION, params, {"media": sha256_file(path), "model": spec.identity}
        )

        def load(d: Path) -> Transcript:
            return serde.from_json(Transcript, json.loads((d / "transcript.json").read_text()))

        def compute(d: Path, path: Path = path) -> dict[str, str]:
            model = load_whisper(spec, plan)
            result = transcribe(path, model, params, model_identity=spec.identity)
            (d / "transcript.json").write_text(json.dumps(serde.to_json(result)))
            return {"voiceover": path.name}

        transcript = store.cache.lookup(STAGE, key, load)
        if transcript is None:
            transcript = load(store.cache.store(STAGE, key, compute))
        words = tuple((w.word, w.start, w.end, w.timing_uncertain) for w in transcript.words)
        out.append(VoiceoverWords(path, words))
    return out


def export_project(
    store: Store,
    project_id: int,
    fmt: str,
    *,
    out: Path | None = None,
    cue_params: CueParams | None = None,
) -> ExportResult:
    """Export ``fmt`` of the project's approved cut (see
    :func:`~genesis_pipeline.services.exports.build_export`), transcribing its voiceovers
    first when subtitles need their words.

    Raises:
        InvalidSettingError: an unknown format or nothing approved (and see ``build_export``).
        InvalidMediaError: a media or voiceover file is missing or unreadable.
        NotFoundError: no such project.
    """
    from genesis_pipeline.stages.exports.cues import CueParams

    check_format(fmt)
    words: list[VoiceoverWords] = []
    if fmt in SUBTITLE_EXPORTS:
        words = voiceover_words(store, load_project_cut(store, project_id).clips)
    return build_export(
        store, project_id, fmt, voiceover_words=words, cue_params=cue_params or CueParams(),
        out=out,
    )  # fmt: skip


def preview_exports(store: Store, project_id: int) -> ExportPreview:
    """The project's chapters, YouTube's verdict and the first subtitle cues, the narration's
    words included (its voiceovers transcribed first, cached; see
    :func:`~genesis_pipeline.services.exports.export_preview`).

    Raises:
        InvalidSettingError: nothing is approved, or a voiceover offset lies outside the cut.
        InvalidMediaError: a voiceover is missing or cannot be decoded.
        NotFoundError: no such project.
    """
    pc = load_project_cut(store, project_id)
    return export_preview(store, pc, voiceover_words(store, pc.clips))


def render_extras(
    store: Store, project_id: int, cut: CutPlan, out: Path, subtitles: str = "off"
) -> RenderExtras:
    """What a render of ``cut`` to ``out`` carries besides pictures and sound: its chapters
    and the cut's subtitles, ``soft`` (a track) or ``burned`` (into the pictures) as
    ``subtitles`` says; their SubRip file is written beside ``out`` under a temporary name
    (the caller removes it; a killed run's leftover is cleaned up by its pid).

    Raises:
        InvalidMediaError: a voiceover cannot be decoded.
        ModelUnavailableError: Whisper cannot be loaded (narration subtitles).
    """

    from genesis_pipeline.files import tmp_prefix, write_bytes
    from genesis_pipeline.services.exports import cut_cues
    from genesis_pipeline.stages.exports.cues import one_at_a_time, to_srt
    from genesis_pipeline.stages.render import BurnIn, ChapterMarker, RenderExtras

    chapters = tuple(ChapterMarker(c.title, c.start_s, c.end_s) for c in cut.chapters)
    if subtitles == "off":
        return RenderExtras(chapters=chapters)
    pc = load_project_cut(store, project_id)
    cues = cut_cues(store, pc, voiceover_words(store, pc.clips))
    srt = out.with_name(f"{tmp_prefix()}{out.stem}.srt")
    if subtitles == "burned":
        # libass stacks cues that overlap (narration over a scene's speech) on its own.
        write_bytes(srt, to_srt(cues).encode("utf-8"))
        return RenderExtras(chapters=chapters, burn_in=BurnIn(srt))
    write_bytes(srt, to_srt(one_at_a_time(cues)).encode("utf-8"))
    return RenderExtras(chapters=chapters, subtitles=srt)


def subtitle_file(extras: RenderExtras) -> Path | None:
    """The temporary SubRip file :func:`render_extras` wrote, if any."""
    if extras.burn_in is not None:
        return extras.burn_in.subtitles
    return extras.subtitles
