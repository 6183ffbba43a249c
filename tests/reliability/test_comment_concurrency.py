"""Two reviewers commenting and approving on one project at once, each in a process of its own
as two app sessions write: no lock error, and no comment, reply, resolve or decision lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.procs import start_commenter, store_for
from support.scenes import store_scenes

from genesis_pipeline.services import access, comments
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.review import review_history
from genesis_pipeline.services.upload import add_media

pytestmark = pytest.mark.slow
ROUNDS = 10


def test_two_reviewers_comment_and_approve_at_once(tmp_path: Path, footage) -> None:
    home = tmp_path / "home"
    store = store_for(home)
    pid = create_project(store, "two reviewers", actor=ADMIN).id
    media = add_media(store, pid, [footage.path], actor=ADMIN)[0].media
    frames = int(media.frame_count or round(media.duration_s * float(media.fps or 25)))
    store_scenes(
        store, pid, media.id, [frames // 3, 2 * frames // 3], frames, float(media.fps or 25)
    )
    procs = {name: start_commenter(home, pid, name, ROUNDS) for name in ("ana", "bea")}
    docs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        docs[name] = json.loads(out)
    for name, doc in docs.items():
        assert doc["errors"] == [], (name, doc["errors"][:3])
        assert len(doc["comments"]) == ROUNDS and doc["reviews"] == ROUNDS
    threads = comments.threads(store, pid)
    by_id = {c.id: c for t in threads for c in t.comments}
    for name, doc in docs.items():
        # Every comment and reply is there, written by its reviewer, each reply in the thread
        # it answered, in the order written.
        assert [by_id[i].body for i in doc["comments"]] == [f"{name} {i}" for i in range(ROUNDS)]
        assert [by_id[i].body for i in doc["replies"]] == [
            f"{name} re {i}" for i in range(1, ROUNDS)
        ]
        for k, reply_id in enumerate(doc["replies"]):
            assert by_id[reply_id].thread_id == doc["comments"][k]
        resolved = {t.id for t in threads if t.resolved and t.root.author == f"user:{name}"}
        assert resolved == {doc["comments"][i] for i in range(4, ROUNDS, 5)}
    assert len(threads) == 2 * ROUNDS
    assert all(list(t.comments) == sorted(t.comments, key=lambda c: c.id) for t in threads)
    assert len(review_history(store, pid, limit=1000)) == 2 * ROUNDS
    log = access.audit_log(store, pid, limit=10_000)
    for name in ("ana", "bea"):
        mine = [e.action for e in log if e.actor == f"user:{name}"]
        assert mine.count("comments.create") == ROUNDS
        assert mine.count("comments.reply") == ROUNDS - 1
        assert mine.count("comments.resolve") == len(range(4, ROUNDS, 5))
