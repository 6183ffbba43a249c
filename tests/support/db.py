"""Reading single values back from the store's database in tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection


def scalar(con: DuckDBPyConnection, sql: str) -> Any:
    """The first column of the first row ``sql`` returns (a count, a max); fails on no row."""
    row = con.execute(sql).fetchone()
    assert row is not None, f"no row from {sql!r}"
    return row[0]
