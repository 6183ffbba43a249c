"""What the Render page shows: is there anything to render, is the latest render current, and
every past render with the settings it was made with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services import narration as narration_service
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.narration import MixSettings
from genesis_pipeline.services.render_settings import (
    get_render_mode,
    get_render_subtitles,
    render_key,
)
from genesis_pipeline.services.wording import download_name
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store.records import ReadModel


@dataclass(frozen=True, slots=True)
class RenderOverview:
    """The approved cut as a render would see it now."""

    approved: int
    total: int
    cut_duration_s: float
    chapters: int
    voiceovers: int
    mix: MixSettings
    mode: str  # smart | reencode
    current_key: str | None  # render cache key of the cut as it is now (None: nothing to render)
    latest_render_id: int | None
    latest_is_current: bool
    problems: tuple[str, ...] = field(default_factory=tuple)  # what would make a render fail
    subtitles: str = "off"  # the project's choice: off | soft | burned

    @property
    def rejected(self) -> int:
        return self.total - self.approved


@dataclass(frozen=True, slots=True)
class NarrationUsed(ReadModel):
    """A voiceover as a render mixed it (from the render's settings)."""

    target: str  # whole cut | chapter N
    file: str
    offset_s: float | None
    gain: float | None
    auto: bool


@dataclass(frozen=True, slots=True)
class RenderEntry(ReadModel):
    """A past render, flattened for the Render page's table and player.

    Attributes:
        path: absolute (with S3 storage a presigned URL, or the ``s3://`` URI when gone);
            ``exists`` says whether the file is still there.
        scenes: how many scenes it kept (``scene_ids`` which).
        narration: the voiceovers in one line (``none`` without).
        size: ``W×H`` when scaled, else ``source``.
        mode: ``smart`` or ``reencode`` (renders from before the mode was recorded were all
            full re-encodes).
        sound: how the sound was made, in one line.
        subtitles: ``off``, ``soft`` (a track) or ``burned`` (into the pictures).
    """

    id: int
    run_id: int | None
    created_at: str  # ISO, to the second
    path: str
    exists: bool
    file_name: str
    duration_s: float
    size_mb: float
    scenes: int
    scene_ids: tuple[int, ...]
    voiceovers: tuple[NarrationUsed, ...]
    narration: str
    voiceover_gain: float | None
    bed_gain: float | None
    size: str
    mode: str
    sound: str
    cache_key: str
    subtitles: str = "off"


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
        and store.exists(latest.path)
    )
    return RenderOverview(
        approved=len(cut.segments),
        total=cut.total_scenes,
        cut_duration_s=cut.duration_s,
        chapters=len(cut.chapters),
        voiceovers=len(narration_service.list_voiceovers(store, project_id)),
        mix=narration_service.get_mix(store, project_id),
        mode=get_render_mode(store, project_id),
        current_key=key,
        latest_render_id=latest.id if latest else None,
        latest_is_current=latest_ok,
        problems=tuple(problems),
        subtitles=get_render_subtitles(store, project_id),
    )


def render_history(store: Store, project_id: int) -> list[RenderEntry]:
    """Every render of the project, newest first.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        project = projects_sql.get(con, project_id)
        renders = renders_sql.list_for_project(con, project_id)
    out = []
    for r in renders:
        settings = r.settings_json or {}
        exists = store.exists(r.path)
        # A local path, or with S3 storage a presigned URL the browser fetches itself.
        path = store.display_url(r.path) if exists else store.location(r.path)
        vos = []
        for v in settings.get("voiceover") or []:
            idx = v.get("chapter_idx")
            vos.append(
                NarrationUsed(
                    target="whole cut" if idx is None else f"chapter {int(idx) + 1}",
                    file=Path(str(v.get("path", ""))).name,
                    offset_s=v.get("offset_s"),
                    gain=v.get("gain"),
                    auto=bool(v.get("auto", False)),
                )
            )
        mix = settings.get("mix") or {}
        params = settings.get("params") or {}
        size = (
            f"{params['width']}×{params['height']}"
            if params.get("width") and params.get("height")
            else "source"
        )
        out.append(
            RenderEntry(
                id=r.id,
                run_id=r.run_id,
                created_at=r.created_at.isoformat(timespec="seconds"),
                path=path,
                exists=exists,
                file_name=download_name(project.name, "cut", "mp4", r.created_at.date()),
                duration_s=float(r.duration_s),
                size_mb=round(r.size_bytes / 1e6, 2),
                scenes=int(settings.get("scene_count", len(settings.get("scenes") or []))),
                scene_ids=tuple(settings.get("scenes") or ()),
                voiceovers=tuple(vos),
                narration=_narration_line(vos),
                voiceover_gain=mix.get("voiceover_gain"),
                bed_gain=mix.get("bed_gain"),
                size=size,
                # Renders from before the mode was recorded were all full re-encodes.
                mode=params.get("mode", "reencode"),
                sound=_sound_line(settings.get("sound") or {}),
                cache_key=r.cache_key,
                # Renders from before subtitles had none.
                subtitles=str(settings.get("subtitles", "off")),
            )
        )
    return out


def _sound_line(sound: dict[str, Any]) -> str:
    copied = float(sound.get("copied_s") or 0)
    if not copied:
        return "encoded, in sync to the sample"
    return f"{copied:.0f} s copied, at most {float(sound.get('offset_ms') or 0):.1f} ms off"


def _narration_line(vos: list[NarrationUsed]) -> str:
    if not vos:
        return "none"
    parts = []
    for v in vos:
        when = f"@ {float(v.offset_s):.2f} s" if v.offset_s is not None else ""
        mode = " (auto)" if v.auto else ""
        gain = f" ×{float(v.gain):g}" if v.gain is not None and v.gain != 1 else ""
        parts.append(f"{v.target}: {v.file} {when}{mode}{gain}".strip())
    return "; ".join(parts)
