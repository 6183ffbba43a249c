"""What the Render page shows: is there anything to render, is the latest render current, and
every past render with the settings it was made with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services import narration as narration_service
from genesis_pipeline.services.cut import CutPlan, load_cut
from genesis_pipeline.services.render_settings import get_render_mode, render_params
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import renders as renders_sql


@dataclass(frozen=True, slots=True)
class RenderOverview:
    """The approved cut as a render would see it now."""

    approved: int
    total: int
    cut_duration_s: float
    chapters: int
    voiceovers: int
    mix: dict[str, float]
    mode: str  # smart | reencode
    current_key: str | None  # render cache key of the cut as it is now (None: nothing to render)
    latest_render_id: int | None
    latest_is_current: bool
    problems: tuple[str, ...] = field(default_factory=tuple)  # what would make a render fail

    @property
    def rejected(self) -> int:
        return self.total - self.approved

    def to_dict(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "rejected": self.rejected,
            "total": self.total,
            "cut_duration_s": self.cut_duration_s,
            "chapters": self.chapters,
            "voiceovers": self.voiceovers,
            "mix": self.mix,
            "mode": self.mode,
            "current_key": self.current_key,
            "latest_render_id": self.latest_render_id,
            "latest_is_current": self.latest_is_current,
            "problems": list(self.problems),
        }


def render_key(store: Store, project_id: int, cut: CutPlan | None = None) -> str | None:
    """The render step's cache key for the project as it is now (None when nothing is approved).

    Raises:
        InvalidSettingError: a voiceover offset lies outside the cut.
        InvalidMediaError: a voiceover file is missing.
    """
    from genesis_pipeline.runs.steps.render import STAGE, render_inputs
    from genesis_pipeline.stages.render import VERSION
    from genesis_pipeline.store.cache import stage_key

    cut = cut if cut is not None else load_cut(store, project_id)
    if not cut.segments:
        return None
    voiceovers = narration_service.list_voiceovers(store, project_id)
    clips, _rows = (
        narration_service.narration_clips(store, cut, voiceovers) if voiceovers else ([], [])
    )
    params = render_params(store, project_id, clips)
    return stage_key(STAGE, VERSION, params, render_inputs(cut, clips))


def render_overview(store: Store, project_id: int) -> RenderOverview:
    """Approved/total scenes, the cut's length, narration, and whether the latest render is
    what a render now would produce.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        renders = renders_sql.list_for_project(con, project_id)
    cut = load_cut(store, project_id)
    problems: list[str] = []
    try:
        key = render_key(store, project_id, cut)
    except GenesisError as exc:
        key = None
        problems.append(str(exc))
    latest = renders[0] if renders else None
    latest_ok = (
        latest is not None
        and key is not None
        and latest.cache_key == key
        and store.absolute(latest.path).is_file()
    )
    return RenderOverview(
        approved=len(cut.segments),
        total=cut.total_scenes,
        cut_duration_s=cut.duration_s,
        chapters=len(cut.chapters),
        voiceovers=len(narration_service.list_voiceovers(store, project_id)),
        mix=narration_service.get_mix(store, project_id).to_dict(),
        mode=get_render_mode(store, project_id),
        current_key=key,
        latest_render_id=latest.id if latest else None,
        latest_is_current=latest_ok,
        problems=tuple(problems),
    )


def render_history(store: Store, project_id: int) -> list[dict[str, Any]]:
    """Every render of the project, newest first, flattened for a table.

    Keys: ``id``, ``run_id``, ``created_at`` (ISO), ``path`` (absolute), ``exists``,
    ``file_name``, ``duration_s``, ``size_mb``, ``scenes`` (kept), ``scene_ids``,
    ``voiceovers`` (list of ``{target, file, offset_s, gain, auto}``), ``narration`` (one line),
    ``voiceover_gain``, ``bed_gain``, ``size`` ("W×H" when known), ``mode`` (``smart`` or
    ``reencode``), ``sound`` (how the sound was made, one line), ``cache_key``.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        renders = renders_sql.list_for_project(con, project_id)
    out = []
    for r in renders:
        settings = r.settings_json or {}
        path = store.absolute(r.path)
        vos = []
        for v in settings.get("voiceover") or []:
            idx = v.get("chapter_idx")
            vos.append(
                {
                    "target": "whole cut" if idx is None else f"chapter {int(idx) + 1}",
                    "file": Path(str(v.get("path", ""))).name,
                    "offset_s": v.get("offset_s"),
                    "gain": v.get("gain"),
                    "auto": bool(v.get("auto", False)),
                }
            )
        mix = settings.get("mix") or {}
        params = settings.get("params") or {}
        size = (
            f"{params['width']}×{params['height']}"
            if params.get("width") and params.get("height")
            else "source"
        )
        out.append(
            {
                "id": r.id,
                "run_id": r.run_id,
                "created_at": r.created_at.isoformat(timespec="seconds"),
                "path": str(path),
                "exists": path.is_file(),
                "file_name": path.name,
                "duration_s": float(r.duration_s),
                "size_mb": round(r.size_bytes / 1e6, 2),
                "scenes": int(settings.get("scene_count", len(settings.get("scenes") or []))),
                "scene_ids": list(settings.get("scenes") or []),
                "voiceovers": vos,
                "narration": _narration_line(vos),
                "voiceover_gain": mix.get("voiceover_gain"),
                "bed_gain": mix.get("bed_gain"),
                "size": size,
                # Renders from before the mode was recorded were all full re-encodes.
                "mode": params.get("mode", "reencode"),
                "sound": _sound_line(settings.get("sound") or {}),
                "cache_key": r.cache_key,
            }
        )
    return out


def _sound_line(sound: dict[str, Any]) -> str:
    copied = float(sound.get("copied_s") or 0)
    if not copied:
        return "encoded, in sync to the sample"
    return f"{copied:.0f} s copied, at most {float(sound.get('offset_ms') or 0):.1f} ms off"


def _narration_line(vos: list[dict[str, Any]]) -> str:
    if not vos:
        return "none"
    parts = []
    for v in vos:
        at = v["offset_s"]
        when = f"@ {float(at):.2f} s" if at is not None else ""
        mode = " (auto)" if v["auto"] else ""
        gain = f" ×{float(v['gain']):g}" if v["gain"] is not None and v["gain"] != 1 else ""
        parts.append(f"{v['target']}: {v['file']} {when}{mode}{gain}".strip())
    return "; ".join(parts)
