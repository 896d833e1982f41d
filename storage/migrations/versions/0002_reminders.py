"""reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:50:06.317521
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_timezone",
        sa.Column("user_id", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("tz", sqltypes.AutoString(length=80), nullable=True),
        sa.Column("fetched_at", sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "reminder",
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("next_due_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("pending_recipients", sa.Text(), nullable=True),
        sa.Column("escalated_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sqltypes.AutoString(length=80), nullable=True),
        sa.Column("claimed_until", sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfix.id"],
        ),
        sa.PrimaryKeyConstraint("hotfix_id"),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_next_due_at"), ["next_due_at"], unique=False)

    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remind_open_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("remind_approval_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("remind_propagating_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_usergroup", sqltypes.AutoString(length=40), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("escalation_usergroup")
        batch_op.drop_column("remind_propagating_seconds")
        batch_op.drop_column("remind_approval_seconds")
        batch_op.drop_column("remind_open_seconds")

    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_next_due_at"))

    op.drop_table("reminder")
    op.drop_table("user_timezone")
