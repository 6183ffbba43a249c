"""A processed fixture project for app tests, and an AppTest factory pointed at it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.apptest import APP

from genesis_pipeline.config import Settings
from genesis_pipeline.media.synth import Shot, make_footage
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.narration import add_voiceover
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Put pytest's ``__main__`` back after each app test: Streamlit's script runner installs
    the app script as ``sys.modules["__main__"]``, and a later ``multiprocessing`` spawn (the
    store's multi-process tests) re-runs ``__main__`` in each child, so the app's start-up
    made demo projects in ``./data`` and started pipeline runs there."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def tiny_blip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.tiny_blip import build_tiny_blip

    return build_tiny_blip(tmp_path_factory.mktemp("app-tiny-blip"))


@pytest.fixture(scope="session")
def app_project(
    tmp_path_factory: pytest.TempPathFactory, footage, silent_footage, tiny_blip_dir: Path
) -> tuple[Store, int]:
    """A project with two clips and a voiceover, processed once for every app test."""
    from genesis_pipeline.media.synth import speak

    home = tmp_path_factory.mktemp("app-home")
    store = Store(Settings(home=home, caption_model=str(tiny_blip_dir), offline="1"))
    pid = create_project(store, "App fixture", actor=ADMIN).id
    add_media(store, pid, [footage.path, silent_footage.path], actor=ADMIN)
    vo = home.parent / "app-vo.wav"
    speak("Narration for the app tests.", vo)
    add_voiceover(store, pid, vo, offset_s=1.0, actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions())
    assert report.status == "succeeded", report.error
    return store, pid


@pytest.fixture()
def app_env(app_project, tiny_blip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Point the app at the fixture project's data dir (no demo project on start)."""
    store, _pid = app_project
    monkeypatch.setenv("GENESIS_HOME", str(store.home))
    monkeypatch.setenv("GENESIS_CAPTION_MODEL", str(tiny_blip_dir))
    monkeypatch.setenv("GENESIS_OFFLINE", "1")
    monkeypatch.setenv("GENESIS_NO_DEMO", "1")
    yield store


@pytest.fixture()
def make_app(app_env: Store, app_project) -> Callable[..., object]:
    """``make_app("views/scenes.py")``: an AppTest on that page with the fixture project picked."""
    from streamlit.testing.v1 import AppTest

    _store, pid = app_project

    def factory(page: str | None = None, timeout: float = 60):
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        at.session_state["project_id"] = pid
        at.run()
        if page:
            at.switch_page(page)
            at.run()
        return at

    return factory


@pytest.fixture()
def small_project(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A project of its own, not processed: one silent 2 s clip with one cut; the captions
    model is missing on purpose. Returns ``(store, project id)``."""
    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setenv("GENESIS_NO_DEMO", "1")
    monkeypatch.setenv("GENESIS_OFFLINE", "1")
    monkeypatch.setenv("GENESIS_CAPTION_MODEL", str(tmp_path / "no-such-model"))
    store = Store(Settings.from_env())
    clip = make_footage(
        tmp_path / "clip.mp4", (Shot("smptebars", 1.0), Shot("testsrc2", 1.0)), audio=False
    )
    pid = create_project(store, "Small project", actor=ADMIN).id
    add_media(store, pid, [clip.path], actor=ADMIN)
    return store, pid
