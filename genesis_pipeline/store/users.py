"""users and sign_in_failures tables: local accounts by name, and failed sign-ins."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from genesis_pipeline.store.records import UserRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

_COLUMNS = "id, name, role, created_at, password_changed_at"
_SELECT = "SELECT " + _COLUMNS + " FROM users"


def insert(con: Connection, name: str, role: str, password_hash: str) -> UserRecord:
    cur = con.execute(
        "INSERT INTO users (name, role, password_hash) VALUES (?, ?, ?) RETURNING " + _COLUMNS,
        [name, role, password_hash],
    )
    user = from_row(UserRecord, cur, cur.fetchone())
    assert user is not None
    return user


def by_name(con: Connection, name: str) -> UserRecord | None:
    cur = con.execute(_SELECT + " WHERE name = ?", [name])
    return from_row(UserRecord, cur, cur.fetchone())


def password_hash(con: Connection, name: str) -> str | None:
    """The stored hash of ``name``'s password (None: no such user)."""
    row = con.execute("SELECT password_hash FROM users WHERE name = ?", [name]).fetchone()
    return None if row is None else str(row[0])


def list_all(con: Connection) -> list[UserRecord]:
    return all_rows(UserRecord, con.execute(_SELECT + " ORDER BY name"))


def count(con: Connection) -> int:
    row = con.execute("SELECT count(*) FROM users").fetchone()
    return int(row[0]) if row else 0


def set_password_hash(con: Connection, name: str, password_hash: str) -> None:
    con.execute(
        "UPDATE users SET password_hash = ?, password_changed_at = current_timestamp"
        " WHERE name = ?",
        [password_hash, name],
    )


def set_role(con: Connection, name: str, role: str) -> None:
    con.execute("UPDATE users SET role = ? WHERE name = ?", [role, name])


def delete(con: Connection, name: str) -> None:
    con.execute("DELETE FROM users WHERE name = ?", [name])


# -- failed sign-ins -----------------------------------------------------------------------------
def add_failure(con: Connection, subjects: list[str], at: datetime) -> None:
    for subject in subjects:
        con.execute(
            "INSERT INTO sign_in_failures (subject, failed_at) VALUES (?, ?)", [subject, at]
        )


def failures_since(con: Connection, subject: str, since: datetime) -> list[datetime]:
    """When ``subject`` failed to sign in since ``since``, oldest first."""
    rows = con.execute(
        "SELECT failed_at FROM sign_in_failures WHERE subject = ? AND failed_at >= ?"
        " ORDER BY failed_at",
        [subject, since],
    ).fetchall()
    return [r[0] for r in rows]


def clear_failures(con: Connection, subject: str) -> None:
    con.execute("DELETE FROM sign_in_failures WHERE subject = ?", [subject])


def prune_failures(con: Connection, before: datetime) -> None:
    con.execute("DELETE FROM sign_in_failures WHERE failed_at < ?", [before])
