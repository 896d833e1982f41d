"""watch: what LifeTime says environments run, untagged changes told, evidence on checklist items;
outbox lines about no hotfix (the watch's suggestion messages)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Outbox lines about no hotfix: the watch's suggestion messages and their thread lines.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("hotfix_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_at", sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "evidence_told", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
    op.create_table(
        "lifetime_observation",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("label", sqltypes.AutoString(length=60), nullable=False),
        sa.Column("version", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("modified", sa.Boolean(), nullable=False),
        sa.Column("module_versions", sa.Text(), nullable=False),
        sa.Column("observed_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("changed_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["environment_id"], ["environment.id"]),
        sa.PrimaryKeyConstraint("application_id", "environment_id"),
    )
    op.create_table(
        "lifetime_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("change", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("modules", sa.Text(), nullable=False),
        sa.Column("since", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("posted_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("channel", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("ts", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("dismissed_by", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("dismissed_at", sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "change"),
    )
    with op.batch_alter_table("lifetime_suggestion", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lifetime_suggestion_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lifetime_suggestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lifetime_suggestion_application_id"))
    op.drop_table("lifetime_suggestion")
    op.drop_table("lifetime_observation")
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.drop_column("evidence_told")
        batch_op.drop_column("evidence_at")
    op.execute("DELETE FROM outbox WHERE hotfix_id IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("hotfix_id", existing_type=sa.Integer(), nullable=False)
