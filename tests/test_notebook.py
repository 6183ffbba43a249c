"""The chapter-heuristics notebook runs top to bottom on the demo project and stays stripped."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.demo import find_demo_project
from genesis_pipeline.services.chapters import rules_history
from genesis_pipeline.store import Store

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "chapter_heuristics.ipynb"

pytestmark = pytest.mark.slow


def test_committed_notebook_has_no_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None


def test_notebook_runs_on_the_demo_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setenv("GENESIS_CAPTION_MODEL", str(tmp_path / "no-model"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    outputs = "\n".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "saved as rules version" in outputs
    store = Store(Settings(home=home))
    pid = find_demo_project(store)
    assert pid is not None
    note = rules_history(store, pid)[-1].note
    assert note is not None
    assert note.startswith("notebook: best of 5 (long pauses, medium chapters)")
    figures = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert len(figures) >= 4
