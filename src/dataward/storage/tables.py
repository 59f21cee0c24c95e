"""The tables. Personal values exist here only as ciphertext and blind-index digests.

Audit rows keep no foreign key to subjects on purpose: the record of an access outlives the data
it was about (erasure removes the data, never the evidence).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "audit_checkpoints",
    "audit_entries",
    "audit_head",
    "blind_indexes",
    "clients",
    "consent_events",
    "field_values",
    "metadata",
    "records",
    "subjects",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = 36  # a UUID4 in its canonical text form
_NAME = 64

subjects = Table(
    "subjects",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("region", String(_NAME), nullable=False),
    Column("kek_id", String(_NAME), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("subject_id", String(_ID), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("collection", String(_NAME), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("subject_id", "collection"),
)

field_values = Table(
    "field_values",
    metadata,
    Column("record_id", String(_ID), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("field", String(_NAME), primary_key=True),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

blind_indexes = Table(
    "blind_indexes",
    metadata,
    Column("field_path", String(2 * _NAME + 1), primary_key=True),
    Column("digest", LargeBinary(32), primary_key=True),
    Column("subject_id", String(_ID), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "subject_id"),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(_ID), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(_NAME), nullable=False),
    Column("event", String(16), nullable=False),  # given | withdrawn
    Column("notice_version", String(_NAME)),
    Column("source", String(_NAME)),
    Column("client_id", String(_NAME), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index(None, "subject_id", "purpose"),
)

clients = Table(
    "clients",
    metadata,
    Column("id", String(_NAME), primary_key=True),
    Column("name", String(_NAME), nullable=False, unique=True),
    Column("role", String(_NAME), nullable=False),
    Column("secret_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),  # ISO 8601 text, hashed exactly as stored
    Column("request_id", String(_NAME), nullable=False),
    Column("client_id", String(_NAME), nullable=False),
    Column("action", String(_NAME), nullable=False),
    Column("subject_id", String(_ID)),
    Column("fields", Text, nullable=False),  # JSON list of field names, never values
    Column("purpose", String(_NAME)),
    Column("outcome", String(32), nullable=False),
    Column("reason", String(255)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "subject_id"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("kid", String(_NAME), nullable=False),
    Column("signature", String(128), nullable=False),
)

# The newest entry's hash, signed after every batch: deleting or appending rows after it shows.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("kid", String(_NAME), nullable=False),
    Column("signature", String(128), nullable=False),
)
