"""Issued documents, the in-portal inbox, notification profiles, the outbox and SLA events (issue 8).

Revision ID: 0002_outputs
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_outputs"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("destination", sa.String(500), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(120), nullable=False, unique=True),
        sa.Column("application_id", sa.Integer, nullable=True, index=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.String(32), nullable=False),
        sa.Column("locked_by", sa.String(80)),
        sa.Column("locked_until", sa.String(32)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("delivered_at", sa.String(32)),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("citizen_id", sa.Integer, nullable=True, index=True),
        sa.Column("office", sa.String(100), nullable=True, index=True),
        sa.Column("application_id", sa.Integer, nullable=True),
        sa.Column("event", sa.String(80), nullable=False),
        sa.Column("message", sa.JSON, nullable=False),
        sa.Column("read_at", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "notification_profiles",
        sa.Column("citizen_id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("email", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "issued_documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("application_id", sa.Integer, nullable=False, index=True),
        sa.Column("citizen_id", sa.Integer, nullable=False, index=True),
        sa.Column("service_id", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("title", sa.JSON, nullable=False),
        sa.Column("agency", sa.String(100), nullable=False),
        sa.Column("office", sa.String(100), nullable=False),
        sa.Column("holder_initials", sa.String(40), nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_at", sa.String(32)),
        sa.Column("status_reason", sa.Text),
        sa.Column("superseded_by", sa.String(40)),
    )
    op.create_table(
        "sla_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("application_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(80), nullable=False),
        sa.Column("due_date", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.UniqueConstraint("application_id", "state", "due_date", "kind", name="uq_sla_events_once"),
    )


def downgrade() -> None:
    for table in ("sla_events", "issued_documents", "notification_profiles", "inbox", "outbox"):
        op.drop_table(table)
