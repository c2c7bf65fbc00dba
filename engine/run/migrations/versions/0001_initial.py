"""The first schema: accounts, definitions, drafts, applications, uploads and the audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject", sa.String(200), nullable=False, unique=True),
        sa.Column("register_number", sa.String(20)),
        sa.Column("name", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("office", sa.String(100), nullable=False, index=True),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("demo", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "definitions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("service_id", sa.String(120), nullable=False, index=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
        sa.Column("service_id", sa.String(120), nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("application_id", sa.Integer, nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=True, unique=True),
        sa.Column("submitted", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tracking", sa.String(32), nullable=False, unique=True),
        sa.Column("draft_id", sa.Integer, nullable=False, unique=True),
        sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
        sa.Column("service_id", sa.String(120), nullable=False, index=True),
        sa.Column("definition_version", sa.String(64), sa.ForeignKey("definitions.version"), nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("state", sa.String(80), nullable=False),
        sa.Column("back_state", sa.String(80)),
        sa.Column("office", sa.String(100), nullable=False, index=True),
        sa.Column("assignee_id", sa.Integer, sa.ForeignKey("staff.id")),
        sa.Column("fee_total", sa.Integer, nullable=False),
        sa.Column("due_date", sa.String(10), nullable=False),
        sa.Column("state_due_date", sa.String(10)),
        sa.Column("last_comment", sa.Text),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draft_id", sa.Integer, nullable=True, index=True),
        sa.Column("application_id", sa.Integer, nullable=True, index=True),
        sa.Column("document_id", sa.String(80), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("application_id", sa.Integer, nullable=True, index=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(80), nullable=False),
        sa.Column("office", sa.String(100)),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("from_state", sa.String(80)),
        sa.Column("to_state", sa.String(80)),
        sa.Column("comment", sa.Text),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),  # one successor per record: no forks
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    for table in ("audit_log", "uploads", "applications", "drafts", "definitions", "staff", "citizens"):
        op.drop_table(table)
