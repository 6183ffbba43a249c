"""On an empty data dir the app opens on the demo project, processed in the background."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.apptest import APP, assert_no_exception
from support.db import scalar

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.control import wait_for_run
from genesis_pipeline.runs.demo import find_demo_project
from genesis_pipeline.services.status import project_status
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow


def test_empty_data_dir_gets_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "empty-home"
    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setenv("GENESIS_CAPTION_MODEL", str(tmp_path / "no-model"))
    monkeypatch.setenv("GENESIS_OFFLINE", "1")
    monkeypatch.delenv("GENESIS_NO_DEMO", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert_no_exception(at)
    store = Store(Settings(home=home))
    pid = find_demo_project(store)
    assert pid is not None and at.session_state["project_id"] == pid
    run = wait_for_run(store, pid, timeout_s=300)
    assert run is not None and run.status == "succeeded", run
    doc = project_status(store, pid, include_words=False)
    assert len(doc["scenes"]) == 10 and len(doc["chapters"]) >= 2
    assert doc["renders"] and doc["voiceovers"]
    at.run()  # a second visit does not create another demo
    assert_no_exception(at)
    with store.db.read() as con:
        assert scalar(con, "SELECT count(*) FROM projects") == 1
