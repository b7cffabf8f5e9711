"""booking_contacts, disruptions, disruption_recipients (issue 16 item 4)

booking_contacts: which conversation verified which booking (the addresses of a booking's
travellers for notices about the booking). Filled from existing tickets that name a booking
and a conversation, so travellers who complained before this migration are reachable too.
disruptions / disruption_recipients: a supervisor's notice to one departure, one recipient row
per conversation (unique), with the in-trip 1-hour alternative deadline.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_contacts_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_contacts")),
        sa.UniqueConstraint("booking_id", "conversation_id", name=op.f("uq_booking_contacts_booking_id")),
    )
    with op.batch_alter_table("booking_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_contacts_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_booking_contacts_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_booking_contacts_last_seen_at"), ["last_seen_at"], unique=False)

    op.create_table(
        "disruptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("departure_date", sa.Date(), nullable=False),
        sa.Column("return_date", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_trip", sa.Boolean(), nullable=False),
        sa.Column("alternative_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alternative_offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alternative_offered_by", sa.String(length=64), nullable=True),
        sa.Column("alternative_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disruptions")),
    )
    with op.batch_alter_table("disruptions", schema=None) as batch_op:
        batch_op.create_index("ix_disruptions_departure", ["product", "departure_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_disruptions_created_at"), ["created_at"], unique=False)

    op.create_table(
        "disruption_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disruption_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["disruption_id"],
            ["disruptions.id"],
            name=op.f("fk_disruption_recipients_disruption_id_disruptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_disruption_recipients_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_disruption_recipients_notification_id_notifications"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disruption_recipients")),
        sa.UniqueConstraint(
            "disruption_id", "conversation_id", name=op.f("uq_disruption_recipients_disruption_id")
        ),
    )
    with op.batch_alter_table("disruption_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disruption_recipients_disruption_id"), ["disruption_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_disruption_recipients_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disruption_recipients_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_disruption_recipients_notification_id"), ["notification_id"], unique=False
        )

    # Travellers who complained about a booking before this table existed: their ticket's
    # conversation (anonymised tickets excluded: their conversation id is no longer one).
    op.execute(
        """
        INSERT INTO booking_contacts (booking_id, conversation_id, channel, first_seen_at, last_seen_at)
        SELECT b.id, t.conversation_id, MIN(t.channel), MIN(t.received_at), MAX(t.received_at)
        FROM tickets t JOIN bookings b ON b.ref = t.booking_ref
        WHERE t.conversation_id IS NOT NULL AND t.anonymised_at IS NULL
        GROUP BY b.id, t.conversation_id
        """
    )


def downgrade() -> None:
    op.drop_table("disruption_recipients")
    op.drop_table("disruptions")
    op.drop_table("booking_contacts")
