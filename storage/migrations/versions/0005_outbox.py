"""outbox: living messages remember the revision they should show; thread lines and DMs wait
in a table until delivered

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqltypes.AutoString(length=20), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sqltypes.AutoString(length=80), nullable=True),
        sa.Column("claimed_until", sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["hotfix_id"], ["hotfix.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_hotfix_id"), ["hotfix_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_delivered_at"), ["delivered_at"], unique=False)

    with op.batch_alter_table("hotfix_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wanted_revision", sa.Integer(), server_default="-1", nullable=False)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sqltypes.UTCDateTime(), nullable=True))
    # Messages posted before the outbox show what they should.
    op.execute("UPDATE hotfix_message SET wanted_revision = shown_revision")


def downgrade() -> None:
    with op.batch_alter_table("hotfix_message", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("wanted_revision")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_delivered_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_hotfix_id"))
    op.drop_table("outbox")
