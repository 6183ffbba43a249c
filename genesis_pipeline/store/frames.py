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
        cols = ", ".join(df.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _genesis_rows")
    finally:
        con.unregister("_genesis_rows")
