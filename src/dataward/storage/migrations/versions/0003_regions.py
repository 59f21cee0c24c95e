"""Regions: the directory of which region a subject outside the default region lives in.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_regions",
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_subject_regions")),
    )


def downgrade() -> None:
    op.drop_table("subject_regions")
