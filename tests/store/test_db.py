"""The store's connection discipline: migrations once, short transactions, locks that queue."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from pathlib import Path

import pytest
from support.db import scalar

from genesis_pipeline.store.cache import StageCache, fingerprint, stage_key
from genesis_pipeline.store.db import Database


def test_migrations_recorded_once(home: Path) -> None:
    db = Database(home / "genesis.duckdb")
    db.ensure_schema()
    db.ensure_schema()
    with db.read() as con:
        versions = con.execute("SELECT version FROM schema_version").fetchall()
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    # Each migration file once, in order (features add theirs in their own number ranges).
    files = Path(__file__).resolve().parents[2] / "genesis_pipeline" / "store" / "migrations"
    numbers = sorted(int(p.name[:3]) for p in files.glob("[0-9][0-9][0-9]_*.sql"))
    assert [v for (v,) in versions] == numbers and {1, 2, 3, 10, 11, 20, 30} <= set(numbers)
    assert {
        "projects",
        "uploads",
        "media_files",
        "runs",
        "transcripts",
        "transcript_words",
        "scenes",
        "chapter_rules",
        "chapters",
        "scene_chapters",
        "review_actions",
        "review_action_scenes",
        "scene_reviews",
        "voiceovers",
        "renders",
        "media_proxies",
        "api_tokens",
        "audit_log",
    } <= tables


def test_an_up_to_date_file_is_checked_beside_a_reader(home: Path) -> None:
    """A process starting while another reads (a long read holds the shared lock) checks the
    schema as a reader does: it never waits for the exclusive lock."""
    import fcntl
    import os

    from genesis_pipeline.store import db as db_module

    path = home / "genesis.duckdb"
    Database(path).ensure_schema()
    db_module._migrated.discard(str(path.resolve()))  # as in a fresh process
    reader = os.open(path.with_name(path.name + ".lock"), os.O_RDWR)
    try:
        fcntl.flock(reader, fcntl.LOCK_SH)
        started = time.monotonic()
        Database(path, timeout_s=2).ensure_schema()  # the exclusive lock would time out
        assert time.monotonic() - started < 1.5
    finally:
        os.close(reader)
    assert str(path.resolve()) in db_module._migrated


def test_write_rolls_back_on_error(home: Path) -> None:
    db = Database(home / "genesis.duckdb")
    with pytest.raises(RuntimeError), db.write() as con:
        con.execute("INSERT INTO projects (name) VALUES ('x')")
        raise RuntimeError("boom")
    with db.read() as con:
        assert scalar(con, "SELECT count(*) FROM projects") == 0


def _writer(path: str, n: int, tag: str) -> None:
    db = Database(Path(path))
    for i in range(n):
        with db.write() as con:
            con.execute("INSERT INTO projects (name) VALUES (?)", [f"{tag}-{i}"])


def test_processes_and_threads_queue_without_errors(home: Path) -> None:
    """Two writer processes and a reader thread hammer the file: no lock error, no lost write."""
    path = home / "genesis.duckdb"
    db = Database(path)
    db.ensure_schema()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), 25, f"p{k}")) for k in range(2)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                with db.read() as con:
                    con.execute("SELECT count(*) FROM projects").fetchone()
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    stop.set()
    t.join()
    assert [p.exitcode for p in procs] == [0, 0]
    assert not errors
    with db.read() as con:
        assert scalar(con, "SELECT count(*) FROM projects") == 50


def test_cache_keys_change_with_each_input() -> None:
    base = stage_key("scenes", 1, {"threshold": 27.0}, {"media": "abc"})
    assert base == stage_key("scenes", 1, {"threshold": 27.0}, {"media": "abc"})
    assert base != stage_key("scenes", 2, {"threshold": 27.0}, {"media": "abc"})
    assert base != stage_key("scenes", 1, {"threshold": 27.5}, {"media": "abc"})
    assert base != stage_key("scenes", 1, {"threshold": 27.0}, {"media": "abd"})
    assert fingerprint({"b": 1, "a": 2}) == fingerprint({"a": 2, "b": 1})


def test_corrupt_cache_entry_is_recomputed(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "cache")

    def write(d: Path) -> None:
        (d / "v.txt").write_text("42")

    cache.store("s", "k", write)
    assert cache.lookup("s", "k", lambda d: int((d / "v.txt").read_text())) == 42
    (cache.entry("s", "k") / "v.txt").write_text("not a number")
    assert cache.lookup("s", "k", lambda d: int((d / "v.txt").read_text())) is None
    assert not cache.entry("s", "k").exists()


def test_cache_entry_never_half_written(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "cache")

    def fail(d: Path) -> None:
        (d / "part.txt").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        cache.store("s", "k", fail)
    assert cache.lookup("s", "k", lambda d: d) is None
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "cache" / "s").iterdir())


def test_read_waits_for_writer(home: Path) -> None:
    db = Database(home / "genesis.duckdb")
    db.ensure_schema()
    order: list[str] = []

    def slow_write() -> None:
        with db.write() as con:
            order.append("write-start")
            con.execute("INSERT INTO projects (name) VALUES ('slow')")
            time.sleep(0.5)
            order.append("write-end")

    t = threading.Thread(target=slow_write)
    t.start()
    time.sleep(0.1)
    with db.read() as con:
        order.append("read")
        assert scalar(con, "SELECT count(*) FROM projects") == 1
    t.join()
    assert order == ["write-start", "write-end", "read"]


def _foreign_write(path: str) -> int:
    """Open the file the way a program outside Genesis does: fails while anyone holds it."""
    import duckdb

    con = duckdb.connect(path)
    try:
        con.execute("INSERT INTO projects (name) VALUES ('foreign')")
        row = con.execute("SELECT count(*) FROM projects").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def test_file_is_let_go_after_each_unit_of_work(home: Path) -> None:
    """Reads and writes attach the file to the process's engine only while they run: right
    after each, another process can open it for writing."""
    path = home / "genesis.duckdb"
    db = Database(path)
    with db.write() as con:
        con.execute("INSERT INTO projects (name) VALUES ('ours')")
        assert db.in_use == 1
    assert db.in_use == 0
    with db.read() as con:
        assert scalar(con, "SELECT count(*) FROM projects") == 1
    assert db.in_use == 0
    with mp.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_foreign_write, (str(path),)) == 2
    with db.read() as con:  # and the foreign write is seen
        assert scalar(con, "SELECT count(*) FROM projects") == 2


def test_threads_reading_at_once_share_one_attachment(home: Path) -> None:
    db = Database(home / "genesis.duckdb")
    db.ensure_schema()
    inside = threading.Barrier(3, timeout=30)
    seen: list[int] = []

    def reader() -> None:
        with db.read() as con:
            con.execute("SELECT count(*) FROM projects").fetchone()
            inside.wait()  # all three hold a read at once
            seen.append(db.in_use)
            inside.wait()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == [3, 3, 3]
    assert db.in_use == 0


def test_a_failed_unit_of_work_lets_the_file_go(home: Path) -> None:
    db = Database(home / "genesis.duckdb")
    with pytest.raises(Exception, match="no_such_table"), db.read() as con:
        con.execute("SELECT * FROM no_such_table")
    with pytest.raises(Exception, match="no_such_table"), db.write() as con:
        con.execute("SELECT * FROM no_such_table")
    assert db.in_use == 0
    with db.write() as con:  # the file is free for the next writer
        con.execute("INSERT INTO projects (name) VALUES ('after')")


def test_a_data_dir_with_quotes_in_its_name(tmp_path: Path) -> None:
    """The file's path goes to DuckDB as a parameter, so any folder name works."""
    db = Database(tmp_path / 'Mo\'s "rushes"' / "genesis.duckdb")
    with db.write() as con:
        con.execute("INSERT INTO projects (name) VALUES ('quoted')")
    with db.read() as con:
        assert scalar(con, "SELECT count(*) FROM projects") == 1
