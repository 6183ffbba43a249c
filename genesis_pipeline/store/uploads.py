"""uploads table: single-use, expiring upload tickets."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from genesis_pipeline.store.records import UploadRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def insert(
    con: Connection,
    *,
    upload_id: str,
    project_id: int,
    token_sha256: str,
    original_name: str,
    target_path: str,
    expires_at: datetime,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    expected_part_sha256: tuple[str, ...] = (),
) -> None:
    con.execute(
        "INSERT INTO uploads (id, project_id, token_sha256, original_name, target_path, expires_at,"
        " expected_size, expected_sha256, expected_part_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            upload_id,
            int(project_id),
            token_sha256,
            original_name,
            target_path,
            expires_at,
            expected_size,
            expected_sha256,
            ",".join(expected_part_sha256) or None,
        ],
    )


def get(con: Connection, upload_id: str) -> UploadRecord | None:
    cur = con.execute("SELECT * FROM uploads WHERE id = ?", [upload_id])
    return from_row(UploadRecord, cur, cur.fetchone())


def close(
    con: Connection,
    upload_id: str,
    status: str,
    media_id: int | None = None,
    error: str | None = None,
) -> None:
    con.execute(
        "UPDATE uploads SET status = ?, used_at = current_timestamp, media_id = ?, error = ?"
        " WHERE id = ?",
        [status, media_id, error, upload_id],
    )


def rejected_for_project(con: Connection, project_id: int) -> list[UploadRecord]:
    """Uploads whose finalize refused the file (``error`` says why), newest first."""
    cur = con.execute(
        "SELECT * FROM uploads WHERE project_id = ? AND status = 'rejected'"
        " ORDER BY used_at DESC NULLS LAST, created_at DESC",
        [int(project_id)],
    )
    return all_rows(UploadRecord, cur)
