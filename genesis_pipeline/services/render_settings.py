"""How a project renders: the mode (smart or full re-encode) and the narration mix, as the
assembly stage's parameters. One place for the render step and for the Render page's "is the
latest render current" check, so the two can never disagree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql

if TYPE_CHECKING:
    from genesis_pipeline.stages.assemble import AssemblyParams

#: ``smart``: stream-copy the groups of pictures a cut leaves whole, encode only around the cut
#: points (several times faster, same frames). ``reencode``: decode and encode everything.
RENDER_MODES = ("smart", "reencode")
DEFAULT_RENDER_MODE = "smart"
_KEY = "render_mode"


def get_render_mode(store: Store, project_id: int) -> str:
    """The project's render mode (``smart`` unless set).

    Raises:
        NotFoundError: no such project.
    """
    return _mode_of(_settings(store, project_id))


def set_render_mode(store: Store, project_id: int, mode: str) -> str:
    """Save how the project renders from now on.

    Raises:
        InvalidSettingError: ``mode`` is not one of :data:`RENDER_MODES`.
        NotFoundError: no such project.
    """
    if mode not in RENDER_MODES:
        raise InvalidSettingError(
            "render mode", f"{mode!r} is not one of {', '.join(RENDER_MODES)}"
        )
    with store.db.write() as con:
        current = projects_sql.get(con, project_id).settings_json.get(_KEY, DEFAULT_RENDER_MODE)
        if current != mode:
            projects_sql.update_settings(con, project_id, {_KEY: mode})
    return mode


def render_params(store: Store, project_id: int) -> AssemblyParams:
    """The assembly parameters a render of the project uses now (mode and mix).

    Raises:
        NotFoundError: no such project.
    """
    from genesis_pipeline.services.narration import mix_of  # pandas: not for the CLI's parser
    from genesis_pipeline.stages.assemble import AssemblyParams

    settings = _settings(store, project_id)
    mix = mix_of(settings)
    return AssemblyParams(
        bed_gain=mix.bed_gain, narration_gain=mix.voiceover_gain, mode=_mode_of(settings)
    )


def _settings(store: Store, project_id: int) -> dict[str, Any]:
    with store.db.read() as con:
        return projects_sql.get(con, project_id).settings_json


def _mode_of(settings: dict[str, Any]) -> str:
    mode = settings.get(_KEY, DEFAULT_RENDER_MODE)
    return mode if mode in RENDER_MODES else DEFAULT_RENDER_MODE
