"""State data exchange (local registry, consents, calls) and citizen feedback (issue 6).

Revision ID: 0003_exchange
Revises: 0002_outputs
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_exchange"
down_revision = "0002_outputs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("record_key", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(20), nullable=True, index=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("kind", "record_key", name="uq_registry_records_kind_key"),
    )
    op.create_table(
        "registry_consents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
        sa.Column("draft_id", sa.Integer, nullable=True, index=True),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
    )
    op.create_table(
        "registry_calls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
        sa.Column("draft_id", sa.Integer, nullable=True, index=True),
        sa.Column("consent_id", sa.Integer, sa.ForeignKey("registry_consents.id"), nullable=True),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("document_id", sa.String(80), nullable=True),
        sa.Column("key_kind", sa.String(30), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("filled", sa.JSON, nullable=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id"), nullable=False, unique=True),
        sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False),
        sa.Column("service_id", sa.String(120), nullable=False, index=True),
        sa.Column("office", sa.String(100), nullable=False, index=True),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("feedback", "registry_calls", "registry_consents", "registry_records"):
        op.drop_table(table)
