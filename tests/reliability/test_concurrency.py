"""Several users at once: a run, a status reader and a reviewer on one data dir see no lock
error and lose no write; two runs of one project never interleave."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.procs import spawn, start_reviewer, store_for

from genesis_pipeline.runs.control import list_runs
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services import access
from genesis_pipeline.services.chapters import rules_history
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.status import project_status
from genesis_pipeline.services.upload import add_media

pytestmark = pytest.mark.slow

READER = r"""
import json, subprocess, sys
from pathlib import Path
home, pid, stop_file = sys.argv[1], sys.argv[2], Path(sys.argv[3])
ok, errors = 0, []
while not stop_file.exists():
    p = subprocess.run([sys.executable, "-m", "genesis_pipeline.cli", "status", "--project-id",
                        pid, "--data-dir", home, "--json"], capture_output=True, text=True)
    if p.returncode == 0 and json.loads(p.stdout)["project"]["id"] == int(pid):
        ok += 1
    else:
        errors.append(p.stderr.strip()[-300:])
print(json.dumps({"ok": ok, "errors": errors}))
"""


def test_run_reader_and_reviewer_at_once(tmp_path: Path, footage) -> None:
    home = tmp_path / "home"
    store = store_for(home, caption_model=str(tmp_path / "none"), offline="1")
    pid = create_project(store, "busy", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    stop = tmp_path / "stop"
    reviewer = start_reviewer(home, pid, stop, "w")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(home), str(pid), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    run = spawn(
        home,
        "process-project",
        "--project-id",
        str(pid),
        "--force",
        "--json",
        "-q",
        env={"GENESIS_CAPTION_MODEL": str(tmp_path / "none")},
    )
    _out, err = run.communicate(timeout=600)
    stop.touch()
    r_out, _r_err = reviewer.communicate(timeout=120)
    s_out, _s_err = reader.communicate(timeout=120)
    assert run.returncode == 0, err
    assert "lock" not in err.lower()
    review = json.loads(r_out)
    status = json.loads(s_out)
    assert review["errors"] == [] and status["errors"] == [], (
        review["errors"][:3],
        status["errors"][:3],
    )
    # The reviewer was not starved while the run held the project: several of its writes
    # landed between the run's start and end (counted by time, not by how many rounds a
    # machine of this speed fits into one run).
    (forced,) = [r for r in list_runs(store, pid) if r.status == "succeeded"]
    during = [
        h
        for h in rules_history(store, pid)
        if (h.note or "").startswith("w") and forced.started_at <= h.created_at
        and (forced.ended_at is None or h.created_at <= forced.ended_at)
    ]  # fmt: skip
    assert len(during) >= 3, (len(review["done"]), forced.started_at, forced.ended_at)
    assert status["ok"] >= 3
    # Every write is there: one rules version per write (each differs from the one before).
    notes = {h["note"] for h in rules_history(store, pid)}
    assert {f"w{i}" for i in review["done"]} <= notes
    audited = access.audit_log(store, pid, limit=100_000, actor="user:reviewer-w")
    rules_notes = {e.details_json["note"] for e in audited if e.action == "chapters.rules"}
    assert {f"w{i}" for i in review["done"]} <= rules_notes
    last = review["done"][-1]
    mix = project_status(store, pid)["project"]["settings"]["mix"]
    assert mix["bed_gain"] == round(0.5 + (last % 50) / 100, 2)


def test_second_run_of_a_project_is_refused_or_waits(tmp_path: Path, footage) -> None:
    home = tmp_path / "home"
    store = store_for(home, caption_model=str(tmp_path / "none"), offline="1")
    pid = create_project(store, "twice", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    env = {"GENESIS_CAPTION_MODEL": str(tmp_path / "none")}
    first = spawn(home, "process-project", "--project-id", str(pid), "--json", "-q", env=env)
    svc = ProjectPipelineService(store)
    deadline = time.monotonic() + 60
    while not svc.is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert svc.is_running(pid)
    refused = spawn(home, "process-project", "--project-id", str(pid), "-q", env=env)
    _, err = refused.communicate(timeout=120)
    assert refused.returncode == 2 and "already being processed" in err
    waiter = spawn(
        home, "process-project", "--project-id", str(pid), "--wait", "--json", "-q", env=env
    )
    out1, _ = first.communicate(timeout=600)
    out2, err2 = waiter.communicate(timeout=600)
    assert first.returncode == 0 and waiter.returncode == 0, err2
    a, b = json.loads(out1), json.loads(out2)
    with store.db.read() as con:
        runs = con.execute(
            "SELECT id, started_at, ended_at, status FROM runs ORDER BY id"
        ).fetchall()
    assert [r[3] for r in runs] == ["succeeded", "succeeded"]
    assert runs[1][1] >= runs[0][2], "the waiting run started before the first one ended"
    assert all(d["cache_hit"] for d in b["step_details"] if d["step"] in ("transcribe", "scenes"))
    assert a["run_id"] != b["run_id"]
    assert ProjectPipelineService(store).run(pid, RunOptions()).status == "succeeded"
