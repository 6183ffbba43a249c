"""A project's activity feed: the audit log in plain words (who, when, what), for the Projects
page and anyone reading the log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from genesis_pipeline.services.access import audit_actors, audit_log
from genesis_pipeline.services.wording import plural
from genesis_pipeline.store import Store
from genesis_pipeline.store.records import AuditEntry, ReadModel


@dataclass(frozen=True, slots=True)
class ActivityItem(ReadModel):
    """One change: ``who`` is the actor's name (``rita``), ``via`` how they acted (``user``
    in the app, ``token`` through the API, ``cli``, ``system``)."""

    happened_at: datetime
    who: str
    via: str
    action: str
    what: str


def _scenes(d: Mapping[str, Any]) -> str:
    ids = d.get("scene_ids") or []
    verb = {"approved": "approved", "rejected": "rejected"}.get(
        str(d.get("status")), "marked unreviewed"
    )
    return f"{verb} {plural(len(ids), 'scene')}"


def _quoted(key: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda d: repr(str(d.get(key, "")))


_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "scenes.review": _scenes,
    "scenes.reset": lambda d: "reset every review decision",
    "scenes.undo": lambda d: (
        f"undid a review decision ({plural(int(d.get('restored', 0)), 'scene')} restored)"
    ),
    "scenes.trim": lambda d: f"trimmed a scene to frames {d.get('in_frame')}–{d.get('out_frame')}",
    "cut.move_scene": lambda d: "moved a scene in the cut's order",
    "cut.move_chapter": lambda d: "moved a chapter in the cut's order",
    "cut.reset_order": lambda d: "reset the cut's order",
    "cut.undo": lambda d: f"undid “{d.get('label', 'a change of the order')}”",
    "chapters.rules": lambda d: f"saved chapter rules v{d.get('version')}",
    "chapters.restore": lambda d: f"restored chapter rules v{d.get('from')} as v{d.get('version')}",
    "chapters.title": lambda d: f"titled a chapter {_quoted('title')(d)}",
    "narration.mix": lambda d: "changed the narration mix",
    "narration.add": lambda d: f"added the voiceover {_quoted('name')(d)}",
    "narration.offset": lambda d: "moved a voiceover",
    "narration.gain": lambda d: "changed a voiceover's gain",
    "narration.remove": lambda d: "removed a voiceover",
    "narration.overrun": lambda d: f"set narration overrun to {d.get('to')}",
    "render.mode": lambda d: f"set the render mode to {d.get('to')}",
    "render.subtitles": lambda d: f"set render subtitles to {d.get('to')}",
    "runs.start": lambda d: "started a run",
    "runs.cancel": lambda d: "cancelled a run",
    "projects.create": lambda d: f"created the project {_quoted('name')(d)}",
    "projects.rename": lambda d: f"renamed the project {_quoted('was')(d)} to {_quoted('name')(d)}",
    "projects.delete": lambda d: f"deleted the project {_quoted('name')(d)}",
    "media.add": lambda d: f"added {_quoted('name')(d)}",
    "media.remove": lambda d: f"removed {_quoted('name')(d)}",
    "uploads.create": lambda d: f"started uploading {_quoted('file')(d)}",
    "uploads.content": lambda d: "sent an upload's bytes",
}


def describe(entry: AuditEntry) -> str:
    """What the entry did, in words (the action's name when it has none)."""
    words = _WORDS.get(entry.action)
    try:
        return words(entry.details_json or {}) if words else entry.action
    except (TypeError, ValueError):  # details of an older shape
        return entry.action


def activity(
    store: Store, project_id: int, person: str | None = None, limit: int = 200
) -> list[ActivityItem]:
    """The project's changes, newest first; only ``person``'s (an actor label such as
    ``user:rita``) when given."""
    out = []
    for e in audit_log(store, project_id, limit=limit, actor=person):
        via, _, who = e.actor.partition(":")
        out.append(ActivityItem(e.happened_at, who or via, via, e.action, describe(e)))
    return out


def people(store: Store, project_id: int) -> list[str]:
    """The actor labels of everyone who changed the project (the feed's filter)."""
    return audit_actors(store, project_id)
