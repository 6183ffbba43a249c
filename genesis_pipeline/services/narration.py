"""Voiceovers and the narration mix: add, offset, gains, and the narration plan for the cut."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.services.cut import CutPlan
from genesis_pipeline.services.naming import sanitize_filename
from genesis_pipeline.services.upload import sha256_file
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store.records import VoiceoverRecord

MIX_DEFAULTS = {"voiceover_gain": 1.0, "bed_gain": 1.0}


@dataclass(frozen=True, slots=True)
class MixSettings:
    voiceover_gain: float = 1.0
    bed_gain: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return {"voiceover_gain": self.voiceover_gain, "bed_gain": self.bed_gain}


def _check_gain(name: str, value: float) -> float:
    if not isinstance(value, int | float) or math.isnan(value) or value < 0 or value > 16:
        raise InvalidSettingError(name, f"{value} is not a gain between 0 and 16 (1.0 = unchanged)")
    return float(value)


def _check_offset(value: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidSettingError("voiceover offset", f"{value} s must be 0 or more seconds")
    return float(value)


def get_mix(store: Store, project_id: int) -> MixSettings:
    with store.db.read() as con:
        settings = projects_sql.get(con, project_id).settings_json
    mix = {**MIX_DEFAULTS, **settings.get("mix", {})}
    return MixSettings(float(mix["voiceover_gain"]), float(mix["bed_gain"]))


def set_mix(
    store: Store,
    project_id: int,
    *,
    voiceover_gain: float | None = None,
    bed_gain: float | None = None,
) -> MixSettings:
    """Raises: InvalidSettingError: a gain is negative or absurd."""
    current = get_mix(store, project_id)
    new = MixSettings(
        _check_gain("voiceover gain", voiceover_gain)
        if voiceover_gain is not None
        else current.voiceover_gain,
        _check_gain("bed gain", bed_gain) if bed_gain is not None else current.bed_gain,
    )
    with store.db.write() as con:
        projects_sql.update_settings(con, project_id, {"mix": new.to_dict()})
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
) -> VoiceoverRecord:
    """Copy a voiceover into ``voiceovers/<project>/`` as WAV and make it the active one for the
    whole cut (``chapter_idx=None``) or for one chapter.

    Raises:
        InvalidMediaError: the file is missing or has no usable audio (names the file).
        InvalidSettingError: negative offset or gain.
    """
    from genesis_pipeline.stages.narration import import_voiceover

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
    dest = store.project_dir("voiceovers", project_id) / (
        f"{sha[:12]}-{Path(sanitize_filename(name, 'voiceover')).stem}.wav"
    )
    try:
        info = import_voiceover(src, dest)
    except InvalidMediaError as exc:
        raise InvalidMediaError(name, exc.reason) from None
    with store.db.write() as con:
        vo = review_sql.add_voiceover(
            con,
            project_id,
            chapter_idx=chapter_idx,
            original_name=name,
            path=store.relative(dest),
            sha256=sha,
            duration_s=info.duration_s,
            offset_s=offset_s,
            gain=gain,
        )
        projects_sql.bump_revision(con, project_id)
    return vo


def list_voiceovers(store: Store, project_id: int) -> list[VoiceoverRecord]:
    with store.db.read() as con:
        return review_sql.active_voiceovers(con, project_id)


def set_voiceover_offset(
    store: Store, project_id: int, voiceover_id: int, offset_s: float | None
) -> None:
    """Override a voiceover's offset (seconds on the cut); ``None`` returns it to automatic."""
    if offset_s is not None:
        offset_s = _check_offset(offset_s)
    with store.db.write() as con:
        review_sql.update_voiceover(con, project_id, voiceover_id, offset_s=offset_s)
        projects_sql.bump_revision(con, project_id)


def set_voiceover_gain(store: Store, project_id: int, voiceover_id: int, gain: float) -> None:
    with store.db.write() as con:
        review_sql.update_voiceover(
            con, project_id, voiceover_id, gain=_check_gain("voiceover gain", gain)
        )
        projects_sql.bump_revision(con, project_id)


def remove_voiceover(store: Store, project_id: int, voiceover_id: int) -> None:
    with store.db.write() as con:
        review_sql.update_voiceover(con, project_id, voiceover_id, active=False)
        projects_sql.bump_revision(con, project_id)


def narration_clips(
    store: Store, cut: CutPlan, voiceovers: list[VoiceoverRecord]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Plan the narration on the cut: returns the clips and a table row per voiceover (with
    its automatic offset, the override, and on-camera speech it would overlap).

    Raises:
        InvalidSettingError: an offset lies beyond the cut, or a chapter voiceover targets a
            chapter that is not in the cut.
    """
    from genesis_pipeline.stages.narration import CutChapter, VoiceoverInfo, plan_narration

    if not voiceovers:
        return [], []
    chapters = [CutChapter(c.index, c.start_s, c.end_s) for c in cut.chapters]
    known = {c.index for c in chapters}
    infos, offsets, gains = {}, {}, {}
    for vo in voiceovers:
        path = store.absolute(vo.path)
        if not path.is_file():
            raise InvalidMediaError(vo.original_name, f"voiceover file {path} is missing")
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
    rows = []
    by_target = {c.chapter_index: c for c in clips}
    for vo in voiceovers:
        clip = by_target.get(vo.chapter_idx)
        start = clip.offset_s if clip else None
        end = start + vo.duration_s if start is not None else None
        overlap = 0.0
        if start is not None and end is not None:
            overlap = sum(max(0.0, min(end, b) - max(start, a)) for a, b in cut.speech)
        rows.append(
            {
                "voiceover_id": vo.id,
                "target": "whole cut"
                if vo.chapter_idx is None
                else f"chapter {vo.chapter_idx + 1}",
                "chapter_idx": vo.chapter_idx,
                "file": vo.original_name,
                "duration_s": vo.duration_s,
                "offset_s": start,
                "override_s": vo.offset_s,
                "automatic": bool(clip.auto) if clip else False,
                "gain": vo.gain,
                "speech_overlap_s": round(overlap, 2),
            }
        )
    return clips, rows
