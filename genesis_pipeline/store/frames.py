"""Bulk inserts from a DataFrame (thousands of words or scenes in one statement)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from duckdb import DuckDBPyConnection as Connection


def insert_frame(con: Connection, table: str, df: pd.DataFrame) -> None:
    """Insert every row of ``df`` into ``table`` (columns by name)."""
    if df.empty:
        return
    con.register("_genesis_rows", df)
    try:
        _insert_df(con, table, ", ".join(df.columns))
    finally:
        con.unregister("_genesis_rows")


def _insert_df(con: Connection, table: str, cols: str) -> None:
    # The one statement here that formats names into SQL: a table and columns chosen by the
    # store's code, never a value (tests/reliability/test_safety.py audits it by this name).
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _genesis_rows")
