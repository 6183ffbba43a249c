"""Typed rows: what the store hands to services (dataclasses, not tuples)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def from_row(cls: type[T], cursor: Any, row: tuple[Any, ...] | None) -> T | None:
    """Build ``cls`` from one DuckDB row using the cursor's column names (extra columns ignored)."""
    if row is None:
        return None
    names = [d[0] for d in cursor.description]
    wanted = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    data = {n: v for n, v in zip(names, row, strict=True) if n in wanted}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name.endswith("_json") or f.name in ("step_details",):
            v = data.get(f.name)
            if isinstance(v, str):
                data[f.name] = json.loads(v)
    return cls(**data)


def all_rows(cls: type[T], cursor: Any) -> list[T]:
    rows = cursor.fetchall()
    return [r for r in (from_row(cls, cursor, row) for row in rows) if r is not None]


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    name: str
    created_at: datetime
    revision: int
    settings_json: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "revision": self.revision,
            "settings": self.settings_json,
        }


@dataclass(frozen=True, slots=True)
class MediaFile:
    id: int
    project_id: int
    position: int
    original_name: str
    stored_name: str
    path: str
    imported: bool
    sha256: str
    size_bytes: int
    kind: str
    duration_s: float
    width: int | None
    height: int | None
    fps: float | None
    is_vfr: bool | None
    rotation: int | None
    frame_count: int | None
    video_codec: str | None
    audio_codec: str | None
    has_audio: bool
    has_video: bool
    probe_json: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        d.pop("probe_json")
        return d


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    project_id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    pid: int | None
    host: str | None
    options_json: dict[str, Any]
    device_json: dict[str, Any]
    step_details: list[dict[str, Any]]
    progress_json: dict[str, Any]
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "pid": self.pid,
            "options": self.options_json,
            "device": self.device_json,
            "step_details": self.step_details,
            "progress": self.progress_json,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class VoiceoverRecord:
    id: int
    project_id: int
    chapter_idx: int | None
    original_name: str
    path: str
    sha256: str
    duration_s: float
    offset_s: float | None
    gain: float
    active: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True, slots=True)
class RenderRecord:
    id: int
    project_id: int
    run_id: int | None
    path: str
    cache_key: str
    duration_s: float
    size_bytes: int
    settings_json: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "duration_s": self.duration_s,
            "size_bytes": self.size_bytes,
            "created_at": self.created_at.isoformat(),
            "run_id": self.run_id,
            "voiceover": self.settings_json.get("voiceover"),
            "settings": self.settings_json,
        }


@dataclass(frozen=True, slots=True)
class ProxyRecord:
    """A playable copy of a media file (or why none could be made)."""

    media_id: int
    project_id: int
    cache_key: str
    status: str  # ready | failed
    path: str | None
    reason: str
    error: str | None
    size_bytes: int | None
    duration_s: float | None
    encode_s: float | None
    metadata_json: dict[str, Any]
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["updated_at"] = self.updated_at.isoformat()
        d["metadata"] = d.pop("metadata_json")
        return d
