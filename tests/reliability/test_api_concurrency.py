"""The HTTP API, the app's services and a CLI run on one data dir at once: no lock error, no
lost write, every reviewer's write in the audit log under their name."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from support.actors import ADMIN
from support.apiserver import api_server
from support.procs import spawn, start_reviewer, store_for

from genesis_pipeline.runs.control import list_runs
from genesis_pipeline.services import access
from genesis_pipeline.services.chapters import rules_history
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media

pytestmark = pytest.mark.slow


def test_api_app_and_cli_run_at_once(tmp_path: Path, footage) -> None:
    home = tmp_path / "home"
    env = {"GENESIS_CAPTION_MODEL": str(tmp_path / "none"), "GENESIS_OFFLINE": "1"}
    store = store_for(home, caption_model=str(tmp_path / "none"), offline="1")
    pid = create_project(store, "three at once", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    token = access.create_token(store, "busy-reviewer", "reviewer", actor=ADMIN).secret
    stop = tmp_path / "stop"
    api_done: list[int] = []
    api_errors: list[str] = []
    with api_server(home, env) as url:
        app = start_reviewer(home, pid, stop, "app")
        run = spawn(home, "process-project", "--project-id", str(pid), "--force", "--json",
                    "-q", env=env)  # fmt: skip

        def api_client() -> None:
            c = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            i = 0
            while not stop.exists():
                i += 1
                calls = [c.get(f"/projects/{pid}/runs/current"), c.get(f"/projects/{pid}/scenes")]
                ids = [s["id"] for s in calls[-1].json().get("scenes", [])]
                if ids:
                    calls.append(c.post(f"/projects/{pid}/scenes/{ids[i % len(ids)]}/approve"))
                calls.append(
                    c.post(
                        f"/projects/{pid}/chapters/rules",
                        json={"min_chapter_s": 3.0 + (i % 500) * 0.01, "note": f"api{i}"},
                    )
                )
                bad = [f"{r.request.url.path}: {r.status_code} {r.text[:200]}" for r in calls
                       if not r.is_success]  # fmt: skip
                api_errors.extend(bad)
                if not bad:
                    api_done.append(i)

        client = threading.Thread(target=api_client)
        client.start()
        out, err = run.communicate(timeout=600)
        stop.touch()
        client.join(120)
        a_out, _a_err = app.communicate(timeout=120)
    assert run.returncode == 0, err
    assert json.loads(out)["status"] == "succeeded"
    assert "lock" not in err.lower()
    app_doc = json.loads(a_out)
    assert app_doc["errors"] == [] and api_errors == [], (app_doc["errors"][:3], api_errors[:3])
    # Both reviewers wrote while the run held the project (counted by time, not by how many
    # rounds a machine of this speed fits into one run).
    (forced,) = [r for r in list_runs(store, pid) if r.status == "succeeded"]
    history = rules_history(store, pid)
    during = [
        (h.note or "")[:3]
        for h in history
        if forced.started_at <= h.created_at
        and (forced.ended_at is None or h.created_at <= forced.ended_at)
    ]
    assert during.count("app") >= 2 and during.count("api") >= 2, (
        len(app_doc["done"]),
        len(api_done),
        forced.started_at,
        forced.ended_at,
    )
    notes = {h.note for h in history}
    assert {f"app{i}" for i in app_doc["done"]} <= notes
    assert {f"api{i}" for i in api_done} <= notes
    audited = [e for e in access.audit_log(store, pid, limit=100_000)
               if e.action == "chapters.rules"]  # fmt: skip
    by_actor: dict[str, set[str]] = {}
    for e in audited:
        by_actor.setdefault(e.actor, set()).add(e.details_json["note"])
    # Every write of both reviewers is in the audit log, as the one who made it (the services
    # record it in the write's own transaction, whichever front end called them).
    assert by_actor["token:busy-reviewer"] >= {f"api{i}" for i in api_done}
    assert by_actor["user:reviewer-app"] >= {f"app{i}" for i in app_doc["done"]}
