"""`python -m bench.transaction_cost`: what one SQLite transaction costs through the engine, by part.

Not a figure of docs/benchmarks.md: the measurement behind the notes' "what would reach it" for
figures 4 and 5 (SQLAlchemy's pool checkout and return against a connection kept checked out, the
read transaction's begin, against raw sqlite3). CPU time of this thread, 20,000 rounds each.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.run.db import make_engine, read_transaction

ROUNDS = 20_000


def _cost(work: Callable[[], object]) -> float:
    for _ in range(500):
        work()
    started = time.thread_time()
    for _ in range(ROUNDS):
        work()
    return (time.thread_time() - started) / ROUNDS * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cost.db"
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1, 'x')")
        select = "SELECT a FROM t WHERE id = 1"

        def pooled_read() -> None:
            with read_transaction(engine) as conn:
                conn.connection.driver_connection.execute(select).fetchone()  # type: ignore[union-attr]

        def pooled_write() -> None:
            with engine.begin() as conn:
                conn.connection.driver_connection.execute(select).fetchone()  # type: ignore[union-attr]

        kept = engine.connect()

        def kept_write() -> None:
            with kept.begin():
                kept.connection.driver_connection.execute(select).fetchone()  # type: ignore[union-attr]

        raw = sqlite3.connect(path, isolation_level=None)

        def raw_transaction() -> None:
            raw.execute("BEGIN")
            raw.execute(select).fetchone()
            raw.execute("COMMIT")

        rows = [
            ("engine: read transaction (pool checkout, deferred read-only BEGIN, SELECT, COMMIT, return)", pooled_read),
            ("engine: write transaction (pool checkout, BEGIN IMMEDIATE, SELECT, COMMIT, return)", pooled_write),
            ("engine: write transaction on a connection kept checked out", kept_write),
            ("raw sqlite3: BEGIN, SELECT, COMMIT", raw_transaction),
        ]
        for label, work in rows:
            print(f"{_cost(work):7.1f} µs  {label}")
        kept.close()
        raw.close()
        engine.dispose()


if __name__ == "__main__":
    main()
