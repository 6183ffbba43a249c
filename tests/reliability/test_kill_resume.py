"""A run killed with SIGKILL at any point resumes: finished stages come from the cache, no
duplicate rows, no half-written file is used, and the killed run is marked failed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.procs import kill_hard, spawn, store_for, wait_for_step

from genesis_pipeline.media.probe import probe
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.status import project_status
from genesis_pipeline.services.upload import add_media

pytestmark = pytest.mark.slow


def _counts(store, pid: int) -> dict[str, int]:
    with store.db.read() as con:
        q = lambda sql: int(con.execute(sql, [pid]).fetchone()[0])  # noqa: E731
        return {
            "transcripts": q("SELECT count(*) FROM transcripts WHERE project_id = ?"),
            "words": q("SELECT count(*) FROM transcript_words WHERE project_id = ?"),
            "scenes": q("SELECT count(*) FROM scenes WHERE project_id = ?"),
            "scene_keys": q(
                "SELECT count(DISTINCT (media_id, idx)) FROM scenes WHERE project_id = ?"
            ),
            "chapters": q("SELECT count(*) FROM chapters WHERE project_id = ?"),
            "chapter_links": q("SELECT count(*) FROM scene_chapters WHERE project_id = ?"),
            "renders": q("SELECT count(*) FROM renders WHERE project_id = ?"),
        }


@pytest.mark.parametrize("kill_in", ["transcribe", "scenes", "render", "early"])
def test_killed_run_resumes(tmp_path: Path, footage, kill_in: str) -> None:
    home = tmp_path / "home"
    store = store_for(home, caption_model=str(tmp_path / "none"), offline="1")
    pid = create_project(store, "kill", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)

    proc = spawn(
        home,
        "process-project",
        "--project-id",
        str(pid),
        "-q",
        env={"GENESIS_CAPTION_MODEL": str(tmp_path / "none")},
    )
    if kill_in == "early":
        time.sleep(1.0)  # somewhere in start-up, imports or the first writes
    else:
        assert wait_for_step(store, pid, kill_in, proc), proc.communicate()
        time.sleep(0.15)  # inside the step's work
    kill_hard(proc)

    # The store opens after the kill, and the killed run is still marked running.
    with store.db.read() as con:
        statuses = [r[0] for r in con.execute("SELECT status FROM runs").fetchall()]
    assert statuses in ([], ["running"]), statuses

    resumed = spawn(
        home,
        "process-project",
        "--project-id",
        str(pid),
        "--json",
        "-q",
        env={"GENESIS_CAPTION_MODEL": str(tmp_path / "none")},
    )
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    doc = project_status(store, pid)
    runs = doc["last_run"]
    assert runs["status"] == "succeeded"
    with store.db.read() as con:
        rows = con.execute("SELECT status, error FROM runs ORDER BY id").fetchall()
    if len(rows) == 2:
        assert rows[0][0] == "failed" and "interrupted" in rows[0][1]
    steps = {d["step"]: d for d in runs["step_details"]}
    if kill_in in ("scenes", "render"):
        assert steps["transcribe"]["cache_hit"], "finished transcription was redone"
    if kill_in == "render":
        assert steps["scenes"]["cache_hit"]

    c = _counts(store, pid)
    assert c["transcripts"] == 1 and c["scenes"] == c["scene_keys"] == len(footage.cuts_s) + 1
    assert c["chapter_links"] == c["scenes"] and c["renders"] == 1
    render = Path(doc["renders"][0]["path"])
    assert render.is_file() and probe(render).duration_s > 0
    leftovers = [p for p in home.rglob(".tmp-*")]
    assert not leftovers, leftovers
