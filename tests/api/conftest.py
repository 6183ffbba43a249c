"""A processed project behind the API (TestClient), and a token for each role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.actors import ADMIN

from genesis_pipeline.api import create_app
from genesis_pipeline.config import Settings
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services import access
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store


@dataclass(frozen=True)
class Api:
    client: TestClient
    store: Store
    project_id: int
    tokens: dict[str, str]  # role -> secret

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def api_settings(home: Path) -> Settings:
    # Captions skipped (no BLIP here): the API tests need scenes, words and a render, fast.
    return Settings(home=home, caption_model=str(home / "no-caption-model"), offline="1",
                    max_upload_mb=5)  # fmt: skip


@pytest.fixture(scope="session")
def processed_home(tmp_path_factory: pytest.TempPathFactory, footage) -> tuple[Path, int]:
    home = tmp_path_factory.mktemp("api-home")
    store = Store(api_settings(home))
    pid = create_project(store, "API fixture", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions())
    assert report.status == "succeeded", report.error
    return home, pid


@pytest.fixture(scope="session")
def api(processed_home: tuple[Path, int]) -> Iterator[Api]:
    home, pid = processed_home
    settings = api_settings(home)
    store = Store(settings)
    tokens = {
        role: access.create_token(store, f"test-{role}", role, actor=ADMIN).secret
        for role in ("viewer", "reviewer", "admin")
    }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client, store, pid, tokens)
