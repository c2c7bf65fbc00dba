"""'My applications' reads an index in its own order; indexes that a longer one already covers go.

The citizen's list is `WHERE citizen_id = ? ORDER BY submitted_at DESC`: with (citizen_id,
submitted_at) both databases walk the index backwards instead of sorting. The single-column
indexes on citizen_id and office are the leading columns of (citizen_id, submitted_at) and of the
queue index (office, closed, due_date, id), which serve every query they served; each index
dropped is one less to write on every submission and step.

Revision ID: 0006_citizen_index
Revises: 0005_draft_version
Create Date: 2026-12-04
"""

from alembic import op

revision = "0006_citizen_index"
down_revision = "0005_draft_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_applications_citizen", "applications", ["citizen_id", "submitted_at"])
    op.drop_index("ix_applications_citizen_id", table_name="applications")
    op.drop_index("ix_applications_office", table_name="applications")


def downgrade() -> None:
    op.create_index("ix_applications_office", "applications", ["office"])
    op.create_index("ix_applications_citizen_id", "applications", ["citizen_id"])
    op.drop_index("ix_applications_citizen", table_name="applications")
