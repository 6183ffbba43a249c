"""Voiceovers and the narration mix: add, offset, gains, and the narration plan for the cut.

What a voiceover past the cut's end does is :mod:`.overrun`'s; the mixed preview of one
chapter is :mod:`.chapter_preview`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, NotFoundError
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.cut import CutPlan, load_cut
from genesis_pipeline.services.naming import sanitize_filename
from genesis_pipeline.services.upload import sha256_file
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import voiceovers as voiceovers_sql
from genesis_pipeline.store.records import ReadModel, VoiceoverRecord

if TYPE_CHECKING:
    from genesis_pipeline.stages.narration import NarrationClip

MIX_DEFAULTS = {"voiceover_gain": 1.0, "bed_gain": 1.0}


@dataclass(frozen=True, slots=True)
class MixSettings:
    """The narration mix saved for a project (``settings_json["mix"]``): linear gains."""

    voiceover_gain: float = 1.0
    bed_gain: float = 1.0


@dataclass(frozen=True, slots=True)
class VoiceoverPlacement(ReadModel):
    """Where the narration plan puts one active voiceover on the cut, for the Narration page.

    Attributes:
        target: ``whole cut`` or ``chapter N``.
        offset_s: where it starts on the cut (None when it does not play: its chapter is not
            in the cut).
        override_s: the reviewer's offset, None for automatic.
        automatic: placed automatically (a chapter voiceover without an override).
        speech_overlap_s: seconds of on-camera speech it talks over.
        overrun_s: how far it runs past the cut's end.
        fit_start_s: where it would start to end with the cut (None when it cannot).
        fit_offset_s: that start as the offset the reviewer sets (from its chapter's start).
    """

    voiceover_id: int
    target: str
    chapter_idx: int | None
    file: str
    duration_s: float
    offset_s: float | None
    override_s: float | None
    automatic: bool
    gain: float
    speech_overlap_s: float
    overrun_s: float
    fit_start_s: float | None
    fit_offset_s: float | None


def _check_gain(name: str, value: float) -> float:
    if not isinstance(value, int | float) or math.isnan(value) or value < 0 or value > 16:
        raise InvalidSettingError(name, f"{value} is not a gain between 0 and 16 (1.0 = unchanged)")
    return float(value)


def _check_offset(value: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidSettingError("voiceover offset", f"{value} s must be 0 or more seconds")
    return float(value)


def get_mix(store: Store, project_id: int) -> MixSettings:
    """Raises: NotFoundError: no such project."""
    with store.db.read() as con:
        return mix_of(projects_sql.get(con, project_id).settings_json)


def mix_of(settings: dict[str, Any]) -> MixSettings:
    """The narration mix saved in a project's settings (defaults where unset)."""
    mix = {**MIX_DEFAULTS, **settings.get("mix", {})}
    return MixSettings(float(mix["voiceover_gain"]), float(mix["bed_gain"]))


def set_mix(
    store: Store,
    project_id: int,
    *,
    voiceover_gain: float | None = None,
    bed_gain: float | None = None,
    actor: Actor,
) -> MixSettings:
    """Raises: InvalidSettingError: a gain is negative or absurd. PermissionDeniedError: the
    actor may not tune narration."""
    current = get_mix(store, project_id)
    new = MixSettings(
        _check_gain("voiceover gain", voiceover_gain)
        if voiceover_gain is not None
        else current.voiceover_gain,
        _check_gain("bed gain", bed_gain) if bed_gain is not None else current.bed_gain,
    )
    with store.db.write() as con:
        access.permit(con, actor, "review", "narration.mix", project_id, serde.to_json(new))
        projects_sql.update_settings(con, project_id, {"mix": serde.to_json(new)})
    return new


def add_voiceover(
    store: Store,
    project_id: int,
    source: str | Path,
    *,
    chapter_idx: int | None = None,
    offset_s: float | None = None,
    gain: float = 1.0,
    original_name: str | None = None,
    actor: Actor,
) -> VoiceoverRecord:
    """Copy a voiceover into ``voiceovers/<project>/`` as WAV and make it the active one for the
    whole cut (``chapter_idx=None``) or for one chapter.

    Raises:
        InvalidMediaError: the file is missing or has no usable audio (names the file).
        InvalidSettingError: negative offset or gain.
        PermissionDeniedError: the actor may not tune narration.
    """
    from genesis_pipeline.stages.narration import import_voiceover

    access.require(actor, "review", "narration.add")
    src = Path(source)
    name = original_name or src.name
    if not src.is_file():
        raise InvalidMediaError(name, "voiceover file does not exist")
    gain = _check_gain("voiceover gain", gain)
    if offset_s is not None:
        offset_s = _check_offset(offset_s)
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    sha = sha256_file(src)
    stem = Path(sanitize_filename(name, "voiceover")).stem
    key = store.project_key("voiceovers", project_id, f"{sha[:12]}-{stem}.wav")
    dest = store.output_path(key)
    try:
        info = import_voiceover(src, dest)
    except InvalidMediaError as exc:
        raise InvalidMediaError(name, exc.reason) from None
    recorded = store.publish(dest, key)
    with store.db.write() as con:
        vo = voiceovers_sql.add_voiceover(
            con,
            project_id,
            chapter_idx=chapter_idx,
            original_name=name,
            path=recorded,
            sha256=sha,
            duration_s=info.duration_s,
            offset_s=offset_s,
            gain=gain,
        )
        access.permit(
            con, actor, "review", "narration.add", project_id,
            {"voiceover_id": vo.id, "name": name, "chapter_idx": chapter_idx},
        )  # fmt: skip
        projects_sql.bump_revision(con, project_id)
    return vo


def list_voiceovers(store: Store, project_id: int) -> list[VoiceoverRecord]:
    """The active voiceovers: the whole cut's first, then by chapter."""
    with store.db.read() as con:
        return voiceovers_sql.active_voiceovers(con, project_id)


def set_voiceover_offset(
    store: Store, project_id: int, voiceover_id: int, offset_s: float | None, *, actor: Actor
) -> None:
    """Override a voiceover's offset (seconds on the cut); ``None`` returns it to automatic.

    Raises:
        InvalidSettingError: a negative offset.
        NotFoundError: no such voiceover in the project.
    """
    if offset_s is not None:
        offset_s = _check_offset(offset_s)
    with store.db.write() as con:
        access.permit(
            con, actor, "review", "narration.offset", project_id,
            {"voiceover_id": voiceover_id, "offset_s": offset_s},
        )  # fmt: skip
        voiceovers_sql.update_voiceover(con, project_id, voiceover_id, offset_s=offset_s)
        projects_sql.bump_revision(con, project_id)


def set_voiceover_gain(
    store: Store, project_id: int, voiceover_id: int, gain: float, *, actor: Actor
) -> None:
    """Raises: InvalidSettingError: a negative or absurd gain. NotFoundError: no such voiceover.
    PermissionDeniedError: the actor may not tune narration."""
    with store.db.write() as con:
        access.permit(
            con, actor, "review", "narration.gain", project_id,
            {"voiceover_id": voiceover_id, "gain": gain},
        )  # fmt: skip
        voiceovers_sql.update_voiceover(
            con, project_id, voiceover_id, gain=_check_gain("voiceover gain", gain)
        )
        projects_sql.bump_revision(con, project_id)


def remove_voiceover(store: Store, project_id: int, voiceover_id: int, *, actor: Actor) -> None:
    """Raises: NotFoundError: no such voiceover in the project. PermissionDeniedError: the
    actor may not tune narration."""
    with store.db.write() as con:
        access.permit(
            con, actor, "review", "narration.remove", project_id, {"voiceover_id": voiceover_id}
        )
        voiceovers_sql.update_voiceover(con, project_id, voiceover_id, active=False)
        projects_sql.bump_revision(con, project_id)


def narration_clips(
    store: Store, cut: CutPlan, voiceovers: list[VoiceoverRecord], *, fetch: bool = True
) -> tuple[list[NarrationClip], list[VoiceoverPlacement]]:
    """Plan the narration on the cut: returns the clips and where each voiceover goes (with
    its automatic offset, the override, and on-camera speech it would overlap). Each clip's
    path is a local copy of its voiceover (``fetch``, for work done here), or, without
    ``fetch``, where that copy would be: the plan reads no audio, and a render on a worker
    reads the voiceover from the storage itself (``Store.locator_of``).

    Raises:
        InvalidSettingError: an offset lies beyond the cut, or a chapter voiceover targets a
            chapter that is not in the cut.
    """
    from genesis_pipeline.stages.narration import (
        CutChapter,
        VoiceoverInfo,
        fit_start,
        plan_narration,
    )

    if not voiceovers:
        return [], []
    chapters = [CutChapter(c.index, c.start_s, c.end_s) for c in cut.chapters]
    known = {c.index for c in chapters}
    infos: dict[int | None, VoiceoverInfo] = {}
    offsets: dict[int | None, float | None] = {}
    gains: dict[int | None, float] = {}
    for vo in voiceovers:
        if not store.exists(vo.path):
            where = store.location(vo.path)
            raise InvalidMediaError(vo.original_name, f"voiceover file {where} is missing")
        path = store.local_path(vo.path) if fetch else store.absolute(vo.path)
        if vo.chapter_idx is not None and vo.chapter_idx not in known:
            raise InvalidSettingError(
                "voiceover chapter",
                f"chapter {vo.chapter_idx + 1} of {vo.original_name} is not in the cut "
                f"({len(chapters)} chapters with approved scenes)",
            )
        infos[vo.chapter_idx] = VoiceoverInfo(path, vo.duration_s, 48000, 1)
        offsets[vo.chapter_idx] = vo.offset_s
        gains[vo.chapter_idx] = vo.gain
    clips = plan_narration(chapters, cut.speech, infos, offsets, gains, cut.duration_s)
    names = {vo.chapter_idx: vo.original_name for vo in voiceovers}
    clips = [replace(c, name=names[c.chapter_index]) for c in clips]
    rows = []
    by_target = {c.chapter_index: c for c in clips}
    by_index = {c.index: c for c in chapters}
    for vo in voiceovers:
        clip = by_target.get(vo.chapter_idx)
        start = clip.offset_s if clip else None
        end = start + vo.duration_s if start is not None else None
        overlap = 0.0
        if start is not None and end is not None:
            overlap = sum(max(0.0, min(end, b) - max(start, a)) for a, b in cut.speech)
        # Where it would start to end with the cut, and that as the offset the reviewer sets
        # (a chapter voiceover's counts from its chapter's start, which it cannot precede).
        chapter_start = by_index[vo.chapter_idx].start_s if vo.chapter_idx is not None else 0.0
        fit = fit_start(cut.duration_s, vo.duration_s, chapter_start)
        rows.append(
            VoiceoverPlacement(
                voiceover_id=vo.id,
                target="whole cut" if vo.chapter_idx is None else f"chapter {vo.chapter_idx + 1}",
                chapter_idx=vo.chapter_idx,
                file=vo.original_name,
                duration_s=vo.duration_s,
                offset_s=start,
                override_s=vo.offset_s,
                automatic=bool(clip.auto) if clip else False,
                gain=vo.gain,
                speech_overlap_s=round(overlap, 2),
                overrun_s=clip.overrun_s if clip else 0.0,
                fit_start_s=fit,
                fit_offset_s=None if fit is None else round(fit - chapter_start, 3),
            )
        )
    return clips, rows


def check_voiceover_offset(
    store: Store, project_id: int, voiceover_id: int, offset_s: float | None
) -> float | None:
    """Plan the narration as if ``voiceover_id`` had the override ``offset_s`` (None =
    automatic) and return where it would start on the cut, without saving anything.

    For a chapter voiceover the override counts from the chapter's start (see
    :func:`genesis_pipeline.stages.narration.plan_narration`).

    Raises:
        InvalidSettingError: the offset is negative, or the start falls outside the cut.
        InvalidMediaError: a voiceover file is missing.
        NotFoundError: no such active voiceover in the project.
    """
    if offset_s is not None:
        offset_s = _check_offset(offset_s)
    voiceovers = list_voiceovers(store, project_id)
    if not any(v.id == voiceover_id for v in voiceovers):
        raise NotFoundError(f"voiceover {voiceover_id}: not an active voiceover of the project")
    trial = [replace(v, offset_s=offset_s) if v.id == voiceover_id else v for v in voiceovers]
    _clips, rows = narration_clips(store, load_cut(store, project_id), trial)
    start = next(r.offset_s for r in rows if r.voiceover_id == voiceover_id)
    return None if start is None else float(start)
