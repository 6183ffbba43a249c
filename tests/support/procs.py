"""Running `genesis` in child processes for fault and concurrency tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from genesis_pipeline.config import Settings
from genesis_pipeline.store import Store


def genesis_cmd(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)]


def spawn(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        genesis_cmd(home, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL the process and its children (ffmpeg), as a crash or an OOM kill would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def current_step(store: Store, project_id: int) -> tuple[str | None, str | None]:
    """(step in progress, run status) of the latest run, read without blocking the writer."""
    import json

    with store.db.read() as con:
        row = con.execute(
            "SELECT progress_json, status FROM runs WHERE project_id = ? ORDER BY id DESC LIMIT 1",
            [project_id],
        ).fetchone()
    if row is None:
        return None, None
    progress: dict[str, Any] = json.loads(row[0] or "{}")
    return progress.get("step"), row[1]


def wait_for_step(
    store: Store, project_id: int, step: str, proc: subprocess.Popen, timeout_s: float = 120.0
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        name, _status = current_step(store, project_id)
        # ``step`` alone, or first of steps running at once ("transcribe + scenes"): the later
        # one is waited for alone, once the one beside it is done.
        if name is not None and (name == step or name.startswith(f"{step} + ")):
            return True
        time.sleep(0.02)
    return False


def store_for(home: Path, **kw: Any) -> Store:
    return Store(Settings(home=home, **kw))


# A reviewer in a process of its own, as the app's clicks write: reviews, chapter rules (noted
# ``<prefix><i>``) and mix settings in a loop until the stop file appears; then it prints
# ``{"done": [i, ...], "errors": [...]}``.
REVIEWER = r"""
import json, sys, time
from pathlib import Path
from genesis_pipeline.config import Settings
from genesis_pipeline.store import Store
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.chapters import save_rules
from genesis_pipeline.services.narration import set_mix
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.status import project_status
from genesis_pipeline.stages.chapters import Rules
store = Store(Settings(home=Path(sys.argv[1])))
pid, stop_file, prefix = int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
who = Actor("user", f"reviewer-{prefix}", "reviewer")
done, errors, i = [], [], 0
while not stop_file.exists():
    i += 1
    try:
        doc = project_status(store, pid, include_words=False)
        ids = [s["id"] for s in doc["scenes"]]
        if ids:
            set_scene_status(
                store, pid, [ids[i % len(ids)]], "approved" if i % 2 else "rejected", actor=who
            )
        save_rules(
            store, pid, Rules(min_chapter_s=1.0 + (i % 500) * 0.01), note=f"{prefix}{i}", actor=who
        )
        set_mix(store, pid, bed_gain=round(0.5 + (i % 50) / 100, 2), actor=who)
        done.append(i)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.01)
print(json.dumps({"done": done, "errors": errors}))
"""


def start_reviewer(home: Path, project_id: int, stop: Path, prefix: str) -> subprocess.Popen:
    """:data:`REVIEWER` writing to ``home``'s project until ``stop`` exists."""
    return subprocess.Popen(
        [sys.executable, "-c", REVIEWER, str(home), str(project_id), str(stop), prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# Two reviewers commenting and approving at once (#18): ``n`` rounds as ``user:<name>`` (a
# reviewer): a comment on a scene, an approval or rejection, a reply to the reviewer's previous
# comment, every fifth round a resolve; then it prints ``{"comments": [id, ...], "replies":
# [id, ...], "reviews": n, "errors": [...]}``.
COMMENTER = r"""
import json, sys
from pathlib import Path
from genesis_pipeline.config import Settings
from genesis_pipeline.store import Store
from genesis_pipeline.services import comments
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.status import project_status
store = Store(Settings(home=Path(sys.argv[1])))
pid, name, n = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
me = Actor("user", name, "reviewer")
out = {"comments": [], "replies": [], "reviews": 0, "errors": []}
for i in range(n):
    try:
        ids = [s["id"] for s in project_status(store, pid, include_words=False)["scenes"]]
        sid = ids[i % len(ids)]
        c = comments.add_comment(store, pid, f"{name} {i}", actor=me, scene_id=sid)
        out["comments"].append(c.id)
        set_scene_status(store, pid, [sid], "approved" if i % 2 else "rejected", actor=me)
        out["reviews"] += 1
        if len(out["comments"]) > 1:
            r = comments.reply(store, pid, out["comments"][-2], f"{name} re {i}", actor=me)
            out["replies"].append(r.id)
        if i % 5 == 4:
            comments.resolve_thread(store, pid, c.id, actor=me)
    except Exception as exc:
        out["errors"].append(f"{type(exc).__name__}: {exc}")
print(json.dumps(out))
"""


def start_commenter(home: Path, project_id: int, name: str, rounds: int) -> subprocess.Popen:
    """:data:`COMMENTER` as ``user:<name>`` for ``rounds`` rounds on ``home``'s project."""
    return subprocess.Popen(
        [sys.executable, "-c", COMMENTER, str(home), str(project_id), name, str(rounds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
