"""verify_failures: missed phone-digit checks per booking or ticket

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 02:18:17.505493
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verify_failures",
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_verify_failures")),
    )


def downgrade() -> None:
    op.drop_table("verify_failures")
