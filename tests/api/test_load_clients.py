"""The API benchmark's load clients (benchmarks/api_load.py) against a real `genesis api`
server: each client keeps one connection alive over many requests, reads every answer's
status and ETag, and sends the ETag back for 304s (the fast path's answers through uvicorn)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.apiserver import api_server

from genesis_pipeline.config import Settings
from genesis_pipeline.services import access
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.store import Store

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks.api_load import GETTERS, run_load  # noqa: E402

pytestmark = pytest.mark.slow


def test_every_load_client_reads_answers_and_304s(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = Store(Settings(home=home))
    pid = create_project(store, "load", actor=ADMIN).id
    token = access.create_token(store, "load-viewer", "viewer", actor=ADMIN).secret
    paths = [("status", f"/projects/{pid}/runs/current"), ("project", f"/projects/{pid}")]
    with api_server(home) as url:
        asyncio.run(run_load(url, token, paths, 1, 0.0, False, 1.0, "httpx"))  # warm the caches
        for client in sorted(GETTERS):
            got = asyncio.run(run_load(url, token, paths, 2, 0.0, True, 0.6, client))
            assert got["errors"] == [], client
            for name, _ in paths:
                asked = len(got["latencies_ms"][name])
                assert asked >= 5, (client, name, asked)  # many requests over each kept connection
                assert got["not_modified"][name] >= asked - 2, (client, name)  # all but the first
            missing = [("missing", "/projects/987654/runs/current")]
            refused = asyncio.run(run_load(url, token, missing, 1, 0.0, False, 0.2, client))
            assert refused["errors"] and refused["errors"][0].startswith("missing: 404"), client
