"""The session's reference pipeline run (tests/conftest.py ``local_pipeline``): what other
executors and storages are compared with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.pipeline import ProjectPipelineService, RunReport
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store
from support.actors import ADMIN


@dataclass(frozen=True)
class Processed:
    """A project the pipeline processed: its store, id and the run's report."""

    store: Store
    pid: int
    report: RunReport


def process(settings: Settings, footage: Path, name: str = "harbour") -> Processed:
    """``footage`` added to a new project and run through the whole pipeline, successfully."""
    store = Store(settings)
    pid = create_project(store, name, actor=ADMIN).id
    add_media(store, pid, [footage], actor=ADMIN)
    report = ProjectPipelineService(store).run(pid)
    assert report.status == "succeeded", report.error
    return Processed(store, pid, report)
