"""The store: the DuckDB file, the artifact tree and the stage cache under one data dir.

:class:`Store` is the one place that decides the data dir's layout (docs/data-model.md draws
it); everything else asks it for a folder or file by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.store.cache import StageCache
from genesis_pipeline.store.db import Database

#: The per-project folders: ``<home>/<kind>/<project id>/``.
ProjectFolder = Literal["media", "artifacts", "scene_previews", "renders", "voiceovers", "proxies"]


class Store:
    """Everything under ``settings.home``. Cheap to construct; holds no open connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.home.resolve()
        self.db = Database(self.home / "genesis.duckdb")
        self.cache = StageCache(self.home / "cache")

    # -- the layout ------------------------------------------------------------------------------
    def project_dir(self, kind: ProjectFolder, project_id: int) -> Path:
        """``<home>/<kind>/<project_id>`` for media, artifacts, previews, renders, voiceovers and
        playable copies."""
        return self.home / kind / str(int(project_id))

    @property
    def uploads_dir(self) -> Path:
        """Where upload tickets' files wait for their finalize: ``uploads/<upload id>/``."""
        return self.home / "uploads"

    def upload_path(self, upload_id: str, file_name: str) -> Path:
        return self.uploads_dir / upload_id / file_name

    @property
    def locks_dir(self) -> Path:
        """Run locks, launch markers of background workers, playable-copy locks."""
        return self.home / "locks"

    def lock_path(self, name: str) -> Path:
        return self.locks_dir / name

    @property
    def logs_dir(self) -> Path:
        """Output of background runs and workers started from the app."""
        return self.home / "logs"

    @property
    def demo_source_dir(self) -> Path:
        """The demo clip and voiceover, generated here when the checkout's ``data/demo/`` is
        not there (an installed wheel)."""
        return self.home / "demo-source"

    def path(self, *parts: str | int) -> Path:
        """``<home>/<parts...>`` (for tools and tests; code asks for the named places above)."""
        return self.home.joinpath(*(str(p) for p in parts))

    # -- paths users give, paths rows keep --------------------------------------------------------
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
        """The path a row recorded (relative to the data dir, or absolute for imports)."""
        p = Path(recorded)
        return p if p.is_absolute() else self.home / p


__all__ = ["Database", "ProjectFolder", "StageCache", "Store"]
