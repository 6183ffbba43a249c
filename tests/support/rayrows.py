"""Projects for the executor tests and what the pipeline wrote for them, comparable across
executors (no ids, paths or timings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genesis_pipeline.config import Settings
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.status import status_report
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store
from support.actors import ADMIN

#: The executor tests share one owner, so their model actors serve each other's runs (as the
#: runs of one app do) whatever their data dirs.
OWNER = "tests"


def settings(home: Path, blip: Path, **kw: Any) -> Settings:
    kw.setdefault("ray_owner", OWNER)
    return Settings(home=home, caption_model=str(blip), offline="1", **kw)


def project(home: Path, blip: Path, footage: Path, name: str, **kw: Any) -> tuple[Store, int]:
    store = Store(settings(home, blip, **kw))
    pid = create_project(store, name, actor=ADMIN).id
    add_media(store, pid, [footage], actor=ADMIN)
    return store, pid


def rows(store: Store, pid: int) -> dict[str, Any]:
    """What the pipeline wrote for a project, without ids, paths or timings."""
    doc = status_report(store, pid)
    media = {m.id: m.original_name for m in doc.media}
    index = {s.id: (media[s.media_id], s.index) for s in doc.scenes}
    return {
        "words": [
            (media[t.media_id], w.word, w.start, w.end)
            for t in doc.transcripts
            for w in t.words or ()
        ],
        "scenes": [
            (media[s.media_id], s.index, s.start_frame, s.end_frame, s.caption) for s in doc.scenes
        ],
        "chapters": [
            (c.index, c.title, c.start_s, c.end_s, [index[i] for i in c.scene_ids])
            for c in doc.chapters
        ],
        "renders": [round(r.duration_s, 3) for r in doc.renders],
    }
