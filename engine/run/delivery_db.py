"""Tables for what a case produces after submission: issued documents, notices, the outbox and SLA timers.

They share `engine.run.db.metadata` (so Alembic sees one schema) but live here, beside the code
that owns them; migration 0002 creates them.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.run.db import metadata

# Everything that leaves the system, written in the same transaction as the action that caused it.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # email | sms | webhook
    sa.Column("destination", sa.String(500), nullable=False),  # an address, a phone number, an agency id
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("idempotency_key", sa.String(120), nullable=False, unique=True),
    sa.Column("application_id", sa.Integer, nullable=True, index=True),
    sa.Column("status", sa.String(12), nullable=False),  # pending | sending | delivered | dead
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.String(32), nullable=False),
    sa.Column("locked_by", sa.String(80)),
    sa.Column("locked_until", sa.String(32)),  # a lease: a crashed worker's message is taken up again after it
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("delivered_at", sa.String(32)),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
)

# The in-portal inbox: the channel that always works; a citizen's or an office's.
inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("citizen_id", sa.Integer, nullable=True, index=True),
    sa.Column("office", sa.String(100), nullable=True, index=True),
    sa.Column("application_id", sa.Integer, nullable=True),
    sa.Column("event", sa.String(80), nullable=False),
    sa.Column("message", sa.JSON, nullable=False),  # {"mn": …, "en": …}
    sa.Column("read_at", sa.String(32)),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# A citizen's chosen channel and language for notices.
notification_profiles = sa.Table(
    "notification_profiles",
    metadata,
    sa.Column("citizen_id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(10), nullable=False),  # inbox | email | sms
    sa.Column("language", sa.String(2), nullable=False),  # mn | en
    sa.Column("email", sa.String(200)),
    sa.Column("phone", sa.String(40)),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# Certificates, permits, licences and decisions, rendered once and never changed (only their status).
issued_documents = sa.Table(
    "issued_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(40), nullable=False, unique=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),  # the public verification code
    sa.Column("application_id", sa.Integer, nullable=False, index=True),
    sa.Column("citizen_id", sa.Integer, nullable=False, index=True),
    sa.Column("service_id", sa.String(120), nullable=False),
    sa.Column("kind", sa.String(80), nullable=False),
    sa.Column("template", sa.String(200), nullable=False),
    sa.Column("title", sa.JSON, nullable=False),  # {"mn": …, "en": …}
    sa.Column("agency", sa.String(100), nullable=False),
    sa.Column("office", sa.String(100), nullable=False),
    sa.Column("holder_initials", sa.String(40), nullable=False),
    sa.Column("issued_by", sa.String(200), nullable=False),
    sa.Column("issued_at", sa.String(32), nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # valid | revoked | superseded
    sa.Column("status_at", sa.String(32)),
    sa.Column("status_reason", sa.Text),
    sa.Column("superseded_by", sa.String(40)),
)

# SLA reminders and escalations already sent, one per case, state entry and kind: the worker's memory.
sla_events = sa.Table(
    "sla_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("application_id", sa.Integer, nullable=False),
    sa.Column("state", sa.String(80), nullable=False),
    sa.Column("due_date", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(12), nullable=False),  # reminder | escalation
    sa.Column("at", sa.String(32), nullable=False),
    sa.UniqueConstraint("application_id", "state", "due_date", "kind", name="uq_sla_events_once"),
)
