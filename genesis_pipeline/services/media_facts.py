"""A project's media files and what probing found, as documents (the HTTP API's media routes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.services.documents import MediaDoc, media_doc
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store.records import ReadModel


@dataclass(frozen=True, slots=True)
class MediaFacts(ReadModel):
    """A media file with its full probe document (streams, timestamps, rotation…)."""

    media: MediaDoc
    location: str  # an absolute path or an s3:// URI
    probe: dict[str, Any]


def list_media(store: Store, project_id: int) -> list[MediaDoc]:
    """The project's media files in timeline order.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        return [media_doc(m) for m in media_sql.list_for_project(con, project_id)]


def media_facts(store: Store, project_id: int, media_id: int) -> MediaFacts:
    """Raises: NotFoundError: no such media file in the project."""
    with store.db.read() as con:
        media = media_sql.get(con, media_id)
    if media.project_id != int(project_id):
        raise NotFoundError(f"media {media_id}: not in project {project_id}")
    return MediaFacts(media_doc(media), store.location(media.path), media.probe_json)
