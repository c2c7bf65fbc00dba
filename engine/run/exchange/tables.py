"""Tables of the state data exchange (ХУР) and of citizen feedback; migration 0003 creates them.

They share `engine.run.db.metadata` (one schema for Alembic) but live beside the code that owns them.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.run.db import metadata

# The embedded local registry: one row per person, company, vehicle, land parcel or property,
# found by its own key (register number, plate …) or by its holder's register number (`owner`).
registry_records = sa.Table(
    "registry_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # person | company | vehicle | parcel | property
    sa.Column("record_key", sa.String(40), nullable=False),
    sa.Column("owner", sa.String(20), nullable=True, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("kind", "record_key", name="uq_registry_records_kind_key"),
)

# A citizen's answer to the consent screen, per operation (ДАН grants consent per operation).
registry_consents = sa.Table(
    "registry_consents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
    sa.Column("draft_id", sa.Integer, nullable=True, index=True),
    sa.Column("operation", sa.String(20), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
)

# Every call to the exchange, whatever its result; the extract itself for documents.
registry_calls = sa.Table(
    "registry_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
    sa.Column("draft_id", sa.Integer, nullable=True, index=True),
    sa.Column("consent_id", sa.Integer, sa.ForeignKey("registry_consents.id"), nullable=True),
    sa.Column("operation", sa.String(20), nullable=False),
    sa.Column("purpose", sa.String(20), nullable=False),  # prefill | document
    sa.Column("document_id", sa.String(80), nullable=True),
    sa.Column("key_kind", sa.String(30), nullable=False),
    sa.Column("source", sa.String(40), nullable=False),  # which adapter answered: local | http
    sa.Column("status", sa.String(20), nullable=False),  # ok | not_found | error | timeout | no_consent
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("filled", sa.JSON, nullable=True),  # the field ids this call prefilled
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)

# One rating per case, by its applicant, once the case is closed.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id"), nullable=False, unique=True),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False),
    sa.Column("service_id", sa.String(120), nullable=False, index=True),
    sa.Column("office", sa.String(100), nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)
