"""End to end against a real `genesis api` server: upload a clip in chunks, finalize, run,
follow the SSE progress, review scenes, save rules, render, download the render by ranges."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from support.actors import ADMIN
from support.apiserver import api_server

from genesis_pipeline.config import Settings
from genesis_pipeline.services import access
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow

CHUNK = 256 * 1024


def follow_run(client: httpx.Client, pid: int) -> tuple[list[dict], dict]:
    """Every ``progress`` event's document and the ``end`` event's, from the SSE stream."""
    progress, end, event = [], None, None
    with client.stream("GET", f"/projects/{pid}/runs/events", timeout=300) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                doc = json.loads(line[6:])
                if event == "end":
                    end = doc
                else:
                    progress.append(doc)
    assert end is not None
    return progress, end


def test_upload_run_review_render_download(tmp_path: Path, footage) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"GENESIS_CAPTION_MODEL": str(tmp_path / "no-model"), "GENESIS_OFFLINE": "1"}
    store = Store(Settings(home=home))
    admin = access.create_token(store, "e2e-admin", "admin", actor=ADMIN).secret
    reviewer = access.create_token(store, "e2e-reviewer", "reviewer", actor=ADMIN).secret
    data = footage.path.read_bytes()
    with api_server(home, env) as url:
        a = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=60)
        r = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {reviewer}"}, timeout=60)
        pid = a.post("/projects", json={"name": "e2e"}).json()["id"]

        ticket = a.post(
            f"/projects/{pid}/uploads", json={"filename": "clip.mp4", "size_bytes": len(data)}
        ).json()
        chunks = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
        sent = a.put(
            ticket["put_url"],
            content=chunks,
            headers={"X-Upload-Token": ticket["token"], "Content-Length": str(len(data))},
        )
        assert sent.json()["received_bytes"] == len(data), sent.text
        media = a.post(ticket["finalize_url"], json={"token": ticket["token"]}).json()
        assert media["duration_s"] > 20 and not media["duplicate"]

        assert r.post(f"/projects/{pid}/runs", json={"render": False}).status_code == 202
        busy = r.post(f"/projects/{pid}/runs", json={})
        assert busy.status_code == 409, busy.text  # the first is starting or running
        progress, end = follow_run(r, pid)
        assert end["run"]["status"] == "succeeded", end["run"]["error"]
        assert any(0 < p["fraction"] < 1 for p in progress) or len(progress) >= 2

        scenes = r.get(f"/projects/{pid}/scenes?page_size=100").json()["scenes"]
        assert len(scenes) >= 4
        dropped = scenes[1]["id"]
        assert r.post(f"/projects/{pid}/scenes/{dropped}/reject").json() == {"updated": 1}
        saved = r.post(f"/projects/{pid}/chapters/rules", json={"min_chapter_s": 2.0}).json()
        rules = r.get(f"/projects/{pid}/chapters/rules").json()
        assert rules["version"] == saved["version"] and rules["rules"]["min_chapter_s"] == 2.0

        assert r.post(f"/projects/{pid}/runs", json={}).status_code == 202
        _progress, end = follow_run(r, pid)
        assert end["run"]["status"] == "succeeded", end["run"]["error"]

        render = r.get(f"/projects/{pid}/renders").json()[0]
        assert dropped not in render["scene_ids"] and len(render["scene_ids"]) == len(scenes) - 1
        on_disk = Path(render["path"]).read_bytes()
        got = b""
        step = len(on_disk) // 3 + 1
        for start in range(0, len(on_disk), step):
            end_byte = min(start + step, len(on_disk)) - 1
            part = r.get(
                f"/projects/{pid}/renders/{render['id']}/file",
                headers={"Range": f"bytes={start}-{end_byte}"},
            )
            assert part.status_code == 206
            got += part.content
        assert got == on_disk

        log = a.get(f"/projects/{pid}/audit").json()
        assert [e["action"] for e in reversed(log)] == [
            "projects.create",
            "uploads.create",
            "uploads.content",
            "media.add",
            "runs.start",
            "chapters.rules",  # the first run saves the default rules
            "scenes.review",
            "chapters.rules",
            "runs.start",
        ]
        # Each recorded by the service in its own transaction, as who acted.
        assert [e["actor"] for e in reversed(log)][-5:] == [
            "token:e2e-reviewer",
            "system:pipeline",
            "token:e2e-reviewer",
            "token:e2e-reviewer",
            "token:e2e-reviewer",
        ]
