"""The render mode: saved per project, validated, and part of what decides a render."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError, NotFoundError
from genesis_pipeline.services.narration import set_mix
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.render_settings import (
    RENDER_MODES,
    get_render_mode,
    render_params,
    set_render_mode,
)
from genesis_pipeline.stages.render import MODES
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(Settings(home=tmp_path / "home", offline="1"))


def test_modes_are_the_stage_modes_smart_first() -> None:
    assert set(RENDER_MODES) == set(MODES) and RENDER_MODES[0] == "smart"


def test_smart_by_default_then_what_was_saved(store: Store) -> None:
    pid = create_project(store, "modes", actor=ADMIN).id
    assert get_render_mode(store, pid) == "smart"
    assert render_params(store, pid).mode == "smart"
    set_mix(store, pid, voiceover_gain=0.7, bed_gain=0.4, actor=ADMIN)
    assert set_render_mode(store, pid, "reencode", actor=ADMIN) == "reencode"
    assert get_render_mode(store, pid) == "reencode"
    p = render_params(store, pid)
    assert (p.mode, p.narration_gain, p.bed_gain) == ("reencode", 0.7, 0.4)


def test_saving_the_same_mode_changes_nothing(store: Store) -> None:
    pid = create_project(store, "same", actor=ADMIN).id
    set_render_mode(store, pid, "reencode", actor=ADMIN)
    with store.db.read() as con:
        revision = projects_sql.get(con, pid).revision
    set_render_mode(store, pid, "reencode", actor=ADMIN)
    with store.db.read() as con:
        assert projects_sql.get(con, pid).revision == revision


def test_bad_mode_is_refused_and_nothing_changes(store: Store) -> None:
    pid = create_project(store, "bad", actor=ADMIN).id
    with pytest.raises(InvalidSettingError) as err:
        set_render_mode(store, pid, "fast", actor=ADMIN)
    assert "render mode" in str(err.value) and "'fast'" in str(err.value)
    assert get_render_mode(store, pid) == "smart"
    with pytest.raises(NotFoundError):
        set_render_mode(store, pid + 1, "smart", actor=ADMIN)
