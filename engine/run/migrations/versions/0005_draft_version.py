"""Drafts remember the definition version they were started under.

Revision ID: 0005_draft_version
Revises: 0004_queue
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_draft_version"
down_revision = "0004_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("definition_version", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("definition_version")
