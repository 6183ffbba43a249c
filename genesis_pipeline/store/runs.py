"""runs table: a pipeline run, its per-step details and live progress."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.store.records import RunRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def start(
    con: Connection,
    project_id: int,
    *,
    pid: int,
    host: str,
    options: dict[str, Any],
    device: dict[str, Any],
) -> RunRecord:
    cur = con.execute(
        "INSERT INTO runs (project_id, status, pid, host, options_json, device_json)"
        " VALUES (?, 'running', ?, ?, ?, ?) RETURNING *",
        [int(project_id), pid, host, json.dumps(options), json.dumps(device)],
    )
    run = from_row(RunRecord, cur, cur.fetchone())
    assert run is not None
    return run


def update(
    con: Connection,
    run_id: int,
    *,
    step_details: list[dict[str, Any]] | None = None,
    progress: dict[str, Any] | None = None,
    device: dict[str, Any] | None = None,
) -> None:
    sets, args = [], []
    if step_details is not None:
        sets.append("step_details = ?")
        args.append(json.dumps(step_details, default=str))
    if progress is not None:
        sets.append("progress_json = ?")
        args.append(json.dumps(progress, default=str))
    if device is not None:
        sets.append("device_json = ?")
        args.append(json.dumps(device, default=str))
    if sets:
        con.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", [*args, int(run_id)])


def finish(con: Connection, run_id: int, status: str, error: str | None = None) -> None:
    con.execute(
        "UPDATE runs SET status = ?, error = ?, ended_at = current_timestamp WHERE id = ?",
        [status, error, int(run_id)],
    )


def get(con: Connection, run_id: int) -> RunRecord:
    cur = con.execute("SELECT * FROM runs WHERE id = ?", [int(run_id)])
    run = from_row(RunRecord, cur, cur.fetchone())
    if run is None:
        raise NotFoundError(f"run {run_id}: no such run")
    return run


def latest(con: Connection, project_id: int) -> RunRecord | None:
    cur = con.execute(
        "SELECT * FROM runs WHERE project_id = ? ORDER BY id DESC LIMIT 1", [int(project_id)]
    )
    return from_row(RunRecord, cur, cur.fetchone())


def list_for_project(con: Connection, project_id: int, limit: int = 20) -> list[RunRecord]:
    cur = con.execute(
        "SELECT * FROM runs WHERE project_id = ? ORDER BY id DESC LIMIT ?", [int(project_id), limit]
    )
    return all_rows(RunRecord, cur)


def running(con: Connection, project_id: int) -> list[RunRecord]:
    cur = con.execute(
        "SELECT * FROM runs WHERE project_id = ? AND status = 'running' ORDER BY id",
        [int(project_id)],
    )
    return all_rows(RunRecord, cur)
