"""The tables. Personal values exist here only as ciphertext and blind-index digests.

Audit rows, rights requests and incidents keep no foreign key to subjects on purpose: the record
of an access outlives the data it was about (erasure removes the data, never the evidence).

The subjects' data keys live apart, in `keystore_metadata` (see `dataward.keys.subject_keys`): a
copy of this database holds only ciphertext that no key opens once a subject is erased.
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
    SmallInteger,
    String,
    Table,
    Text,
)

__all__ = [
    "audit_checkpoints",
    "audit_entries",
    "audit_head",
    "blind_indexes",
    "client_baselines",
    "clients",
    "consent_events",
    "field_values",
    "gateway_endpoints",
    "incidents",
    "keystore_metadata",
    "metadata",
    "objections",
    "outbox",
    "records",
    "refresh_tokens",
    "rights_request_events",
    "rights_requests",
    "subject_challenges",
    "subject_keys",
    "subject_regions",
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("restricted_at", DateTime(timezone=True)),  # Art. 18: kept, used only for legal claims
    Column("erased_at", DateTime(timezone=True)),  # Art. 17: what remains, a legal obligation keeps
)

records = Table(
    "records",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("subject_id", String(_ID), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("collection", String(_NAME), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "subject_id", "collection"),  # one record, or many (`multiple` collections)
)

field_values = Table(
    "field_values",
    metadata,
    Column("record_id", String(_ID), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("field", String(_NAME), primary_key=True),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Which of the subject's keys sealed it: 0 the data key, 1 the key of what a legal obligation
    # keeps through an erasure (so erasure destroys key 0 and re-encrypts nothing).
    Column("key_slot", SmallInteger, nullable=False, server_default="0"),
    Index(None, "field", "key_slot", "updated_at"),  # retention sweeps: what is past its time
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

# Art. 21: the subject objected to a purpose; reads for it withhold everything.
objections = Table(
    "objections",
    metadata,
    Column("subject_id", String(_ID), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True),
    Column("purpose", String(_NAME), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("rights_request_id", String(_ID)),
)

rights_requests = Table(
    "rights_requests",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject_id", String(_ID), nullable=False),
    Column("state", String(32), nullable=False),
    Column("channel", String(32), nullable=False),  # self-service | team
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("handler", String(_NAME)),
    Column("approver", String(_NAME)),
    Column("reason", String(1000)),  # why refused or extended: never personal data
    Column("details", Text, nullable=False, server_default="{}"),  # JSON: field names, purposes, outcome
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "subject_id"),
    Index(None, "state", "due_at"),
)

rights_request_events = Table(
    "rights_request_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        String(_ID),
        ForeignKey("rights_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("state", String(32), nullable=False),
    Column("actor", String(_NAME), nullable=False),
    Column("reason", String(1000)),
    Column("at", DateTime(timezone=True), nullable=False),
    Index(None, "request_id"),
)

# Notices to processors (Art. 19), delivered by signed webhooks with retries. Bodies hold ids and
# field names, never values: a processor fetches new values through the API.
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(_ID), primary_key=True),  # also the idempotency key
    Column("processor", String(_NAME), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("rights_request_id", String(_ID)),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", String(255)),
    Index(None, "delivered_at", "next_attempt_at"),
    Index(None, "rights_request_id"),
)

# Which region a subject lives in, for subjects outside the default region (`subjects.regions`):
# random ids and region names, no personal data. Kept in the vault's own database.
subject_regions = Table(
    "subject_regions",
    metadata,
    Column("subject_id", String(_ID), primary_key=True),
    Column("region", String(_NAME), nullable=False),
)

# One-time codes by which a subject proves who they are; only a hash of the code is kept.
subject_challenges = Table(
    "subject_challenges",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("subject_id", String(_ID), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("used_at", DateTime(timezone=True)),
    Index(None, "subject_id"),
)

# The breach register (Art. 33): awareness starts the 72-hour clock.
incidents = Table(
    "incidents",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("title", String(255), nullable=False),
    Column("description", Text),
    Column("aware_at", DateTime(timezone=True), nullable=False),
    Column("client_id", String(_NAME)),
    Column("token_id", String(_NAME)),
    Column("window_from", DateTime(timezone=True), nullable=False),
    Column("window_to", DateTime(timezone=True), nullable=False),
    Column("opened_by", String(_NAME), nullable=False),
    Column("notified_at", DateTime(timezone=True)),  # told the supervisory authority
    Column("closed_at", DateTime(timezone=True)),
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
    Column("suspended_at", DateTime(timezone=True)),  # by anomaly response, until a person reinstates it
    Column("suspended_reason", String(255)),
)

# Refresh tokens (opaque; only a SHA-256 of each is kept). Each use spends one and issues the next in
# the same family; presenting a spent one again revokes the whole family (reuse detection).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(_NAME), nullable=False),
    Column("client_id", String(_NAME), nullable=False),
    Column("purposes", Text, nullable=False),  # space-separated, as in a scope
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index(None, "family_id"),
    Index(None, "client_id"),
)

# Each client's learnt behaviour (`guard.anomaly`): counts of records and subjects read, per hour of
# day, as JSON. Client ids and numbers only.
client_baselines = Table(
    "client_baselines",
    metadata,
    Column("client_id", String(_NAME), primary_key=True),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# What the gateway saw of each method and path template (`gateway.inventory`): documented, shadow,
# zombie or orphan. Path templates only, never a path with ids in it.
gateway_endpoints = Table(
    "gateway_endpoints",
    metadata,
    Column("method", String(16), primary_key=True),
    Column("path", String(255), primary_key=True),
    Column("documented", Integer, nullable=False),  # 1: in the spec when last seen
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("hits", BigInteger, nullable=False),
    Column("authenticated_hits", BigInteger, nullable=False),
    Column("statuses", Text, nullable=False),  # JSON: status code -> count
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
    Column("token_id", String(_NAME)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "subject_id"),
    Index(None, "client_id", "at"),  # breach sizing: what one client touched in a window
    Index(None, "token_id", "at"),
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


# -- the key store: a database of its own -----------------------------------------------------------

keystore_metadata = MetaData(naming_convention=metadata.naming_convention)

# Each subject's data keys, wrapped by a key-encryption key. Slot 0 seals the subject's data; slot 1,
# made only when needed, seals what a legal obligation keeps through an erasure.
subject_keys = Table(
    "subject_keys",
    keystore_metadata,
    Column("subject_id", String(_ID), primary_key=True),
    Column("slot", SmallInteger, primary_key=True, autoincrement=False),
    Column("kek_id", String(_NAME), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
