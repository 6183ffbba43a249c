"""The DuckDB file survives writers killed mid-transaction: every committed transaction is whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.db import scalar

from genesis_pipeline.store.db import Database

WRITER = r"""
import sys
from pathlib import Path
from genesis_pipeline.store.db import Database
db = Database(Path(sys.argv[1]))
i = int(sys.argv[2])
while True:
    i += 1
    with db.write() as con:
        # Two rows per transaction: after any kill both tables must hold the same count.
        con.execute("INSERT INTO projects (name) VALUES (?)", [f"p{i}"])
        con.execute("INSERT INTO runs (project_id, status) VALUES (?, 'x')", [i])
        con.execute("UPDATE projects SET revision = revision + 1 WHERE name = ?", [f"p{i}"])
"""


def test_killed_writers_leave_a_consistent_file(tmp_path: Path) -> None:
    path = tmp_path / "genesis.duckdb"
    db = Database(path)
    db.ensure_schema()
    rng = random.Random(7)
    for round_ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(round_ * 100_000)], start_new_session=True
        )
        time.sleep(rng.uniform(0.6, 1.6))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        with db.read() as con:
            projects = scalar(con, "SELECT count(*) FROM projects")
            runs = scalar(con, "SELECT count(*) FROM runs")
            half = scalar(con, "SELECT count(*) FROM projects WHERE revision <> 1")
        assert projects == runs, (round_, projects, runs)
        assert half == 0
    assert projects > 0
    with db.write() as con:  # still writable
        con.execute("INSERT INTO projects (name) VALUES ('after')")
