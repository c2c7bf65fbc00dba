"""The append-only audit log: one record per action, each hashing the one before, and its verifier.

A record's hash covers its content and the previous record's hash, so editing, deleting or
reordering any record breaks every hash after it; `tsonkh audit verify` walks the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.run.db import PreparedInsert, PreparedSelect, audit_log, now

GENESIS = "0" * 64
_FIELDS = ("application_id", "at", "actor", "role", "office", "action", "from_state", "to_state", "comment")


def record_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    body = {"prev": prev_hash, **{k: record.get(k) for k in _FIELDS}}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Built once: a prepared statement executed with parameters skips building and compiling one per
# append, which cost more than the insert itself (`insert().values(**record)`).
_LOCK = sa.text("SELECT pg_advisory_xact_lock(7453110)")
_LAST = sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
_INSERT = PreparedInsert(audit_log)

# The chain's last hash as a column, for a caller that already runs a statement just before appending
# (an UPDATE … RETURNING): one statement fewer per action. Read only after `lock_chain`.
LAST_HASH = _LAST.scalar_subquery().label("audit_last_hash")


def lock_chain(conn: Connection) -> None:
    """Serialise appenders so that two never chain onto the same record (SQLite's writer lock does it there).

    Held to the end of the transaction; a reader of `LAST_HASH` takes it before the statement that reads.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)


def append(
    conn: Connection,
    *,
    application_id: int | None,
    actor: str,
    role: str,
    office: str | None,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    last_hash: str | None = None,
) -> str:
    """Add one record in the caller's transaction; returns its hash.

    `last_hash` is the chain's last hash when the caller has read it (`LAST_HASH`, after `lock_chain`,
    in this transaction); otherwise this takes the lock and reads it.
    """
    if last_hash is None:
        lock_chain(conn)
        last_hash = conn.execute(_LAST).scalar()
    prev = last_hash or GENESIS
    record = {
        "application_id": application_id,
        "at": now(),
        "actor": actor,
        "role": role,
        "office": office,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "comment": comment or None,
    }
    digest = record_hash(prev, record)
    record["prev_hash"] = prev
    record["hash"] = digest
    _INSERT(conn, record)
    return digest


@dataclass(frozen=True)
class Break:
    record_id: int
    reason: str


def verify(conn: Connection) -> tuple[int, list[Break]]:
    """Walk the whole chain in order: (records checked, breaks found)."""
    prev = GENESIS
    breaks: list[Break] = []
    count = 0
    for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings():
        count += 1
        if row["prev_hash"] != prev:
            breaks.append(Break(row["id"], "does not follow the record before it (deleted or reordered)"))
        if record_hash(row["prev_hash"], dict(row)) != row["hash"]:
            breaks.append(Break(row["id"], "its content does not match its hash (edited)"))
        prev = row["hash"]
    return count, breaks


# A case's records in order, on the driver's cursor for SQLite (the JSON status reads it on every submission).
_HISTORY = PreparedSelect(
    sa.select(audit_log).where(audit_log.c.application_id == sa.bindparam("application_id")).order_by(audit_log.c.id),
    ("application_id",),
)


def history(conn: Connection, application_id: int) -> list[Mapping[str, Any]]:
    return list(_HISTORY.all(conn, application_id))
