"""api_tokens table: API tokens by the hash of their secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genesis_pipeline.store.records import TokenRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

_COLUMNS = "id, name, role, prefix, created_at, revoked_at"
_SELECT = "SELECT " + _COLUMNS + " FROM api_tokens"


def insert(con: Connection, name: str, role: str, token_sha256: str, prefix: str) -> TokenRecord:
    cur = con.execute(
        "INSERT INTO api_tokens (name, role, token_sha256, prefix) VALUES (?, ?, ?, ?)"
        " RETURNING " + _COLUMNS,
        [name, role, token_sha256, prefix],
    )
    token = from_row(TokenRecord, cur, cur.fetchone())
    assert token is not None
    return token


def active_by_name(con: Connection, name: str) -> TokenRecord | None:
    cur = con.execute(_SELECT + " WHERE name = ? AND revoked_at IS NULL", [name])
    return from_row(TokenRecord, cur, cur.fetchone())


def active_by_hash(con: Connection, token_sha256: str) -> TokenRecord | None:
    """The token whose secret hashes to ``token_sha256``, unless it was revoked."""
    cur = con.execute(
        _SELECT + " WHERE token_sha256 = ? AND revoked_at IS NULL",
        [token_sha256],
    )
    return from_row(TokenRecord, cur, cur.fetchone())


def list_all(con: Connection) -> list[TokenRecord]:
    return all_rows(TokenRecord, con.execute(_SELECT + " ORDER BY id"))


def revoke(con: Connection, token_id: int) -> None:
    con.execute(
        "UPDATE api_tokens SET revoked_at = current_timestamp WHERE id = ? AND revoked_at IS NULL",
        [int(token_id)],
    )
