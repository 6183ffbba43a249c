"""Genesis: raw footage in, a reviewed rough cut out.

The one-call API is :func:`rough_cut`; the CLI (``genesis``) and the Streamlit app sit on the
service functions in :mod:`genesis_pipeline.services` and :mod:`genesis_pipeline.runs.pipeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import (
    GenesisError,
    InvalidMediaError,
    InvalidSettingError,
    MediaToolError,
    ModelUnavailableError,
    NotFoundError,
    RunInProgressError,
    StageError,
    StoreBusyError,
    ToolNotFoundError,
    UploadError,
)

if TYPE_CHECKING:
    from genesis_pipeline.runs.pipeline import RunReport

__version__ = "0.1.0"


def rough_cut(
    paths: Sequence[str | Path],
    settings: Settings | None = None,
    *,
    name: str = "rough cut",
    voiceover: str | Path | None = None,
) -> RunReport:
    """Create a project from ``paths``, run the whole pipeline and return the run report
    (``report.render_path`` is the MP4).

    Raises:
        InvalidMediaError: a file is not usable media.
        InvalidSettingError: a setting is unusable.
    """
    from genesis_pipeline.runs.options import RunOptions
    from genesis_pipeline.runs.pipeline import ProjectPipelineService
    from genesis_pipeline.services import access
    from genesis_pipeline.services.projects import create_project
    from genesis_pipeline.services.upload import add_media
    from genesis_pipeline.store import Store

    store = Store(settings or Settings.from_env())
    project = create_project(store, name, actor=access.cli_actor())
    add_media(store, project.id, paths, actor=access.cli_actor())
    options = RunOptions(voiceover=Path(voiceover) if voiceover else None)
    return ProjectPipelineService(store).run(project.id, options)


__all__ = [
    "GenesisError",
    "InvalidMediaError",
    "InvalidSettingError",
    "MediaToolError",
    "ModelUnavailableError",
    "NotFoundError",
    "RunInProgressError",
    "Settings",
    "StageError",
    "StoreBusyError",
    "ToolNotFoundError",
    "UploadError",
    "__version__",
    "rough_cut",
]
