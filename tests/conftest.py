"""Shared fixtures: generated footage with known cuts and speech, an isolated data dir.

Nothing here touches the network: model hubs are switched off for the whole session.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support.reference import Processed
    from support.s3server import S3Server

# Never let a test reach for a model hub (it is unreachable here and would stall).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GENESIS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from genesis_pipeline.media.synth import (
    DEFAULT_SCRIPT,
    Footage,
    Shot,
    make_footage,
)

# Shots for the main fixture: five scenes, hard cuts at known frame times.
MAIN_SHOTS = (
    Shot("testsrc2", 3.0),
    Shot("smptebars", 3.6),
    Shot("mandelbrot", 3.4),
    Shot("rgbtestsrc", 3.8),
    Shot("smptehdbars", 7.2),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_error_logs: the test expects ERROR log records")


# Folders whose tests share an expensive session fixture (a processed project, a Ray cluster,
# an S3 server, a Streamlit server): with two test processes (pytest-xdist, `-n 2` in
# pyproject.toml) all of a folder's tests go to one process, so the fixture is built once and
# tests that build on each other keep their order. Every other test file is a unit of its own.
_SHARED_FIXTURE_DIRS = ("app", "browser", "executor", "storage")


def _work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its shared-fixture folder, or its file."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "tests" and parts[1] in _SHARED_FIXTURE_DIRS:
        return parts[1]
    return path


# Units that take minutes go first (measured with --durations on 2 cores), so neither process is
# left with one of them at the end while the other idles. Within a unit the order is unchanged.
_LONG_UNITS = (
    "executor",
    "browser",
    "app",
    "storage",
    "tests/test_cli.py",
    "tests/test_golden_outputs.py",
    "tests/reliability/test_kill_resume.py",
    "tests/api/test_routes.py",
    "tests/api/test_end_to_end.py",
    "tests/test_benchmarks_smoke.py",
    "tests/reliability/test_failures.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the long units first (``--no-loadscope-reorder`` keeps this order in xdist)."""
    rank = {unit: i for i, unit in enumerate(_LONG_UNITS)}
    items.sort(key=lambda item: rank.get(_work_unit(item.nodeid), len(rank)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Schedule by :func:`_work_unit` (xdist's own ``loadgroup`` marks do not reach pytest 9's
    node ids, so the grouping is decided here from the ids)."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return SharedFixtureScheduling(config, log)


@pytest.fixture(autouse=True)
def _no_error_logs(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture):
    """Fail any test that logs at ERROR unless it says it expects to."""
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("ERROR logged: " + "; ".join(r.getMessage() for r in errors[:3]))


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One S3 API server (moto, over HTTP on a free port) for the whole session, shared by the
    storage and executor tests."""
    from support.s3server import start_s3_server

    server = start_s3_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tiny_blip_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BLIP captioner built once per session (the executor and storage tests)."""
    from support.tiny_blip import build_tiny_blip

    return build_tiny_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture(scope="session")
def local_pipeline(
    tmp_path_factory: pytest.TempPathFactory, tiny_blip_session: Path, footage: Footage
) -> Processed:
    """The reference run, once per session: ``footage`` through the whole pipeline with the
    local executor and local storage (tiny BLIP, offline). Tests compare other executors and
    storages with its rows; none may change it."""
    from support.reference import process

    from genesis_pipeline.config import Settings

    settings = Settings(
        home=tmp_path_factory.mktemp("local-reference"),
        caption_model=str(tiny_blip_session),
        offline="1",
    )
    return process(settings, footage.path, "reference")


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("espeak-ng"):
        pytest.fail("espeak-ng is not installed: run ./.ci/setup (it apt-installs it)")
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def footage(media_dir: Path) -> Footage:
    """21 s, 320x180 at 25 fps, 5 shots (4 cuts), espeak-ng reading DEFAULT_SCRIPT."""
    return make_footage(
        media_dir / "main.mp4",
        MAIN_SHOTS,
        script=DEFAULT_SCRIPT,
        speech_start_s=0.5,
        # 130 wpm keeps tiny.en well clear of the WER bar (0.14 measured; 165 wpm gave 0.35).
        words_per_minute=130,
    )


@pytest.fixture(scope="session")
def tone_footage(media_dir: Path) -> Footage:
    """12 s with a steady 1 kHz tone and no speech: the bed for ducking tests."""
    return make_footage(
        media_dir / "tone.mp4",
        (Shot("testsrc2", 4.0), Shot("smptebars", 4.0), Shot("mandelbrot", 4.0)),
        tone_hz=1000.0,
        tone_level=0.2,
    )


@pytest.fixture(scope="session")
def silent_footage(media_dir: Path) -> Footage:
    """6 s of video with no audio stream at all."""
    return make_footage(
        media_dir / "silent.mp4",
        (Shot("smptebars", 3.0), Shot("testsrc2", 3.0)),
        audio=False,
    )


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """An empty data dir (GENESIS_HOME) for one test."""
    d = tmp_path / "home"
    d.mkdir()
    return d
