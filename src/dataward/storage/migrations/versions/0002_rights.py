"""Data-subject rights: the subjects' keys leave this database for the key store (so erasure
reaches backups), collections with many records per subject, restriction and erasure marks on
subjects, key slots on values, objections, rights requests and their history, the processor
outbox, one-time codes, the breach register, and token ids in the audit log.

A database that already holds subjects is refused: its data keys would be lost with the columns,
and no release ever wrote one (move such data through the API into a new installation).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    subjects = op.get_bind().execute(sa.text("select count(*) from subjects")).scalar_one()
    if subjects:
        raise RuntimeError(
            f"this database holds {subjects} subject(s) whose data keys would be lost: "
            "start a new installation and move the data through the API"
        )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("token_id", sa.String(length=64), nullable=True),
        sa.Column("window_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("processor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rights_request_id", sa.String(length=36), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_delivered_at_next_attempt_at"),
            ["delivered_at", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_outbox_rights_request_id"), ["rights_request_id"], unique=False)

    op.create_table(
        "rights_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=True),
        sa.Column("approver", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("details", sa.Text(), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_requests")),
    )
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rights_requests_state_due_at"), ["state", "due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rights_requests_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "objections",
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rights_request_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_objections_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", "purpose", name=op.f("pk_objections")),
    )
    op.create_table(
        "rights_request_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rights_requests.id"],
            name=op.f("fk_rights_request_events_request_id_rights_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_request_events")),
    )
    with op.batch_alter_table("rights_request_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rights_request_events_request_id"), ["request_id"], unique=False)

    op.create_table(
        "subject_challenges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_challenges_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_challenges")),
    )
    with op.batch_alter_table("subject_challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_challenges_subject_id"), ["subject_id"], unique=False)

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_entries_client_id_at"), ["client_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_token_id_at"), ["token_id", "at"], unique=False)

    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_constraint("uq_records_subject_id_collection", type_="unique")
        batch_op.create_index(
            batch_op.f("ix_records_subject_id_collection"), ["subject_id", "collection"], unique=False
        )

    with op.batch_alter_table("field_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_slot", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.create_index(
            batch_op.f("ix_field_values_field_key_slot_updated_at"),
            ["field", "key_slot", "updated_at"],
            unique=False,
        )

    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column("kek_id")
        batch_op.drop_column("wrapped_key")


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_subject_id_collection"))
        batch_op.create_unique_constraint("uq_records_subject_id_collection", ["subject_id", "collection"])

    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("kek_id", sa.String(length=64), nullable=True))
        batch_op.drop_column("erased_at")
        batch_op.drop_column("restricted_at")

    with op.batch_alter_table("field_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_values_field_key_slot_updated_at"))
        batch_op.drop_column("key_slot")

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_token_id_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_client_id_at"))
        batch_op.drop_column("token_id")

    with op.batch_alter_table("subject_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_challenges_subject_id"))

    op.drop_table("subject_challenges")
    with op.batch_alter_table("rights_request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_request_events_request_id"))

    op.drop_table("rights_request_events")
    op.drop_table("objections")
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_requests_subject_id"))
        batch_op.drop_index(batch_op.f("ix_rights_requests_state_due_at"))

    op.drop_table("rights_requests")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_rights_request_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_delivered_at_next_attempt_at"))

    op.drop_table("outbox")
    op.drop_table("incidents")
