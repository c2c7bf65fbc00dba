"""The transactional outbox: every message that leaves the system is a row written in the action's transaction.

A worker claims due rows with a short lease (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two
workers never take the same row; on SQLite the single writer lock serialises claims), delivers
them outside any transaction, then records the result. A worker that dies mid-delivery leaves a
lease that expires, and the row is delivered again with the same idempotency key — receivers that
honour the key see it once. Failures back off exponentially; after `MAX_ATTEMPTS` a row is
dead-lettered for an administrator to replay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from engine.run.delivery_db import outbox

MAX_ATTEMPTS = 8
BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=6)
LEASE = dt.timedelta(minutes=2)


def stamp(at: dt.datetime) -> str:
    """The same text form as `engine.run.db.now()`, so stored times compare as strings."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff(attempts: int, base: dt.timedelta = BASE_DELAY, cap: dt.timedelta = MAX_DELAY) -> dt.timedelta:
    """The wait after the `attempts`-th failure: base, 2×base, 4×base, … capped."""
    return min(base * (2 ** max(attempts - 1, 0)), cap)


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    destination: str
    payload: Mapping[str, Any]
    idempotency_key: str
    application_id: int | None
    attempts: int


def enqueue(
    conn: Connection,
    kind: str,
    destination: str,
    payload: Mapping[str, Any],
    idempotency_key: str,
    application_id: int | None = None,
    at: dt.datetime | None = None,
) -> bool:
    """Add a message in the caller's transaction; a key already queued is not queued again (False)."""
    when = stamp(at or utcnow())
    exists = conn.execute(sa.select(outbox.c.id).where(outbox.c.idempotency_key == idempotency_key)).first()
    if exists is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(
                outbox.insert().values(
                    kind=kind,
                    destination=destination,
                    payload=dict(payload),
                    idempotency_key=idempotency_key,
                    application_id=application_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=when,
                    created_at=when,
                )
            )
    except IntegrityError:
        return False
    return True


def claim(engine: Engine, worker: str, at: dt.datetime, limit: int = 20, lease: dt.timedelta = LEASE) -> list[Message]:
    """Take up to `limit` due messages (pending, or leased by a worker whose lease ran out) for `worker`."""
    now_s = stamp(at)
    due = sa.or_(
        sa.and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now_s),
        sa.and_(outbox.c.status == "sending", outbox.c.locked_until <= now_s),
    )
    query = sa.select(outbox).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [dict(r) for r in conn.execute(query).mappings()]
        if not rows:
            return []
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_([r["id"] for r in rows]))
            .values(status="sending", locked_by=worker, locked_until=stamp(at + lease))
        )
    return [
        Message(
            r["id"], r["kind"], r["destination"], r["payload"], r["idempotency_key"], r["application_id"], r["attempts"]
        )
        for r in rows
    ]


def delivered(engine: Engine, message: Message, worker: str, at: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.id == message.id, outbox.c.locked_by == worker, outbox.c.status == "sending")
            .values(
                status="delivered",
                attempts=message.attempts + 1,
                delivered_at=stamp(at),
                locked_by=None,
                locked_until=None,
                last_error=None,
            )
        )


def failed(
    engine: Engine, message: Message, worker: str, at: dt.datetime, error: str, max_attempts: int = MAX_ATTEMPTS
) -> str:
    """Record a failed attempt: back off and retry, or dead-letter after `max_attempts`. Returns the new status."""
    attempts = message.attempts + 1
    status = "dead" if attempts >= max_attempts else "pending"
    with engine.begin() as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.id == message.id, outbox.c.locked_by == worker, outbox.c.status == "sending")
            .values(
                status=status,
                attempts=attempts,
                next_attempt_at=stamp(at + backoff(attempts)),
                locked_by=None,
                locked_until=None,
                last_error=error[:2000],
            )
        )
    return status


def replay(conn: Connection, message_id: int, at: dt.datetime | None = None) -> bool:
    """An administrator sends a dead letter again: it becomes pending with a fresh attempt count."""
    result = conn.execute(
        outbox.update()
        .where(outbox.c.id == message_id, outbox.c.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=stamp(at or utcnow()), last_error=None)
    )
    return result.rowcount == 1


def listing(conn: Connection, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    return [dict(r) for r in conn.execute(query).mappings()]


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    return {str(status): int(n) for status, n in rows}
