"""The store: the DuckDB file, the artifact tree and the stage cache under one data dir."""

from __future__ import annotations

from pathlib import Path

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.store.cache import StageCache
from genesis_pipeline.store.db import Database


class Store:
    """Everything under ``settings.home``. Cheap to construct; holds no open connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.home.resolve()
        self.db = Database(self.home / "genesis.duckdb")
        self.cache = StageCache(self.home / "cache")

    def path(self, *parts: str | int) -> Path:
        return self.home.joinpath(*(str(p) for p in parts))

    def project_dir(self, kind: str, project_id: int) -> Path:
        """``<home>/<kind>/<project_id>`` for artifacts, previews, renders, media, voiceovers."""
        return self.home / kind / str(int(project_id))

    def inside(self, path: str | Path, setting: str = "path") -> Path:
        """Resolve ``path`` and require it to lie inside the data dir.

        Raises:
            InvalidSettingError: the path escapes the data dir (``..``, absolute elsewhere, links).
        """
        p = Path(path)
        resolved = (p if p.is_absolute() else self.home / p).resolve()
        if resolved != self.home and self.home not in resolved.parents:
            raise InvalidSettingError(setting, f"{path} lies outside the data dir {self.home}")
        return resolved

    def relative(self, path: str | Path) -> str:
        """Path relative to the data dir when inside it (what the store records), else absolute."""
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self.home))
        except ValueError:
            return str(p)

    def absolute(self, recorded: str) -> Path:
        p = Path(recorded)
        return p if p.is_absolute() else self.home / p


__all__ = ["Database", "StageCache", "Store"]
