"""Reliable delivery: retries with exponential backoff, a timeout, dead letters and replay, a worker killed
mid-delivery, and two workers racing for the same messages — each with a loopback receiver."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.run import outbox
from engine.run.db import make_engine
from engine.run.delivery_db import outbox as outbox_table
from engine.run.delivery_settings import DeliverySettings, Endpoint
from engine.run.migrate import upgrade
from engine.run.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from engine.run.worker import Worker
from tests.delivery.stubs import Receiver, receiver
from tests.portal.conftest import BACKENDS

SECRET = "s3cret"
T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    built = make_engine(db_url)
    upgrade(built)
    yield built
    built.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def settings_for(stub: Receiver, timeout: float = 0.5) -> DeliverySettings:
    return DeliverySettings(endpoints={"gasr": Endpoint(stub.url, SECRET)}, timeout=timeout)


def enqueue(engine: Engine, key: str, n: int = 0, at: dt.datetime | None = T0) -> None:
    with engine.begin() as conn:
        outbox.enqueue(conn, "webhook", "gasr", {"tracking": key, "n": n}, key, at=at)


def row(engine: Engine, key: str) -> dict[str, object]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(outbox_table).where(outbox_table.c.idempotency_key == key)).mappings().one()
    return dict(found)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_fails_times_out_then_recovers_with_backoff(engine: Engine) -> None:
    clock = Clock()
    with receiver(["fail", "slow"]) as stub:
        worker = Worker(engine, settings_for(stub), clock=clock, name="w1")
        enqueue(engine, "case:A")
        assert worker.deliver_due().retried == 1  # 503
        assert row(engine, "case:A")["attempts"] == 1
        assert row(engine, "case:A")["next_attempt_at"] == outbox.stamp(T0 + dt.timedelta(seconds=30))
        clock.advance(seconds=29)
        assert worker.deliver_due().retried == 0 and len(stub.receipts) == 1  # backing off: not yet
        clock.advance(seconds=1)
        report = worker.deliver_due()  # the receiver is too slow: a timeout
        assert report.retried == 1 and "timed out" in str(row(engine, "case:A")["last_error"]).lower()
        assert row(engine, "case:A")["next_attempt_at"] == outbox.stamp(clock.now + dt.timedelta(seconds=60))
        clock.advance(seconds=60)
        assert worker.deliver_due().delivered == 1
        assert worker.deliver_due().delivered == 0  # nothing is sent twice
    final = row(engine, "case:A")
    assert (final["status"], final["attempts"]) == ("delivered", 3)
    assert {r.headers["idempotency-key"] for r in stub.receipts} == {"case:A"}  # one key on every attempt
    last = stub.receipts[-1]
    assert last.headers[SIGNATURE_HEADER.lower()] == sign(SECRET, last.headers[TIMESTAMP_HEADER.lower()], last.body)
    assert last.json == {"tracking": "case:A", "n": 0}


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_dead_letter_after_max_attempts_then_replay(engine: Engine) -> None:
    assert [outbox.backoff(n) for n in (1, 2, 3)] == [dt.timedelta(seconds=s) for s in (30, 60, 120)]
    assert outbox.backoff(30) == outbox.MAX_DELAY
    clock = Clock()
    with receiver(["fail"] * 3) as stub:
        worker = Worker(engine, settings_for(stub), clock=clock, max_attempts=3)
        enqueue(engine, "case:B")
        statuses = []
        for _ in range(3):
            worker.deliver_due()
            statuses.append(row(engine, "case:B")["status"])
            clock.advance(hours=1)
        assert statuses == ["pending", "pending", "dead"]
        assert worker.deliver_due().delivered == 0  # a dead letter waits for a person
        dead_id = int(row(engine, "case:B")["id"])  # type: ignore[call-overload]
        with engine.begin() as conn:
            assert [m["idempotency_key"] for m in outbox.listing(conn, "dead")] == ["case:B"]
            assert outbox.replay(conn, dead_id, at=clock.now)
            assert not outbox.replay(conn, dead_id, at=clock.now)  # only dead letters
        assert worker.deliver_due().delivered == 1
    assert row(engine, "case:B")["status"] == "delivered" and len(stub.receipts) == 4


KILLED_WORKER = """
import sys
from engine.run.db import make_engine
from engine.run.delivery_settings import DeliverySettings, Endpoint
from engine.run.worker import Worker
worker = Worker(make_engine(sys.argv[1]), DeliverySettings(endpoints={"gasr": Endpoint(sys.argv[2], "s3cret")},
                timeout=60), name="doomed")
worker.deliver_due()
"""


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_worker_killed_mid_delivery_loses_nothing_and_the_receiver_sees_it_once(engine: Engine, db_url: str) -> None:
    enqueue(engine, "case:C", at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))  # the doomed worker's clock is real
    with receiver(["hang"]) as stub:
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        doomed = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, db_url, stub.url], env=env)
        deadline = time.monotonic() + 30
        while not stub.receipts and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stub.receipts, "the doomed worker never sent"
        doomed.kill()  # SIGKILL while the receiver holds the request
        doomed.wait(10)
        stub.release.set()
        leased = row(engine, "case:C")
        assert (leased["status"], leased["locked_by"]) == ("sending", "doomed")
        now = dt.datetime.now(dt.UTC)
        early = Worker(engine, settings_for(stub), clock=lambda: now)
        assert early.deliver_due().delivered == 0  # the lease still holds: nobody sends it at the same time
        later = Worker(engine, settings_for(stub), clock=lambda: now + outbox.LEASE + dt.timedelta(seconds=1))
        assert later.deliver_due().delivered == 1
    assert row(engine, "case:C")["status"] == "delivered"
    assert len(stub.receipts) == 2 and len(stub.processed) == 1  # sent again, processed once


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_two_workers_racing_never_send_the_same_message(engine: Engine) -> None:
    keys = [f"case:R{n}" for n in range(40)]
    for n, key in enumerate(keys):
        enqueue(engine, key, n)
    with receiver(delay=0.01) as stub:
        workers = [Worker(engine, settings_for(stub, timeout=5), clock=lambda: T0, name=f"w{i}") for i in (1, 2)]
        counts = {w.name: 0 for w in workers}

        def drain(worker: Worker) -> None:
            while True:
                report = worker.deliver_due(limit=3)
                counts[worker.name] += report.delivered
                if not (report.delivered or report.retried):
                    return

        threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    sent = [r.headers["idempotency-key"] for r in stub.receipts]
    assert sorted(sent) == sorted(keys)  # every message once: no duplicate, none lost
    assert sum(counts.values()) == 40 and all(counts.values()), counts  # both workers took part
    with engine.connect() as conn:
        assert outbox.counts(conn) == {"delivered": 40}


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize("db_url", BACKENDS[1:], indirect=True)
def test_postgres_claims_skip_rows_locked_by_another_worker(engine: Engine) -> None:
    for n in range(4):
        enqueue(engine, f"case:L{n}", n)
    with engine.connect() as holder:
        tx = holder.begin()
        first_two = sa.select(outbox_table.c.id).order_by(outbox_table.c.id).limit(2).with_for_update()
        held = set(holder.execute(first_two).scalars())
        started = time.monotonic()
        claimed = outbox.claim(engine, "other", T0, limit=10)  # does not wait for the held rows
        assert time.monotonic() - started < 5
        assert {m.id for m in claimed}.isdisjoint(held) and len(claimed) == 2
        tx.rollback()
