"""deployments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 00:58:44.332225
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "state NOT IN ('solved', 'cancelled')"
PREVIOUS = "state IN ('open', 'awaiting_approval', 'propagating')"


def upgrade() -> None:
    op.create_table(
        "deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("deployer", sqltypes.AutoString(length=20), nullable=False),
        sa.Column("version", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("requested_by", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("external_key", sqltypes.AutoString(length=120), nullable=True),
        sa.Column("status", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("info", sa.Text(), nullable=False),
        sa.Column("log_lines", sa.Integer(), nullable=False),
        sa.Column("last_log", sa.Text(), nullable=False),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_progress_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("next_poll_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("stuck", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sqltypes.AutoString(length=80), nullable=True),
        sa.Column("claimed_until", sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfix.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployment_hotfix_id"), ["hotfix_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deployment_next_poll_at"), ["next_poll_at"], unique=False
        )

    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "deployer",
                sqltypes.AutoString(length=20),
                nullable=False,
                server_default="ledger",
            )
        )
        batch_op.add_column(
            sa.Column("deployer_settings", sa.Text(), nullable=False, server_default="{}")
        )

    # A hotfix being deployed is unsolved too: the one-per-application rule covers every state
    # but solved and cancelled.
    with op.batch_alter_table("hotfix", schema=None) as batch_op:
        batch_op.drop_index("uq_hotfix_one_active_per_application")
        batch_op.create_index(
            "uq_hotfix_one_active_per_application",
            ["application_id"],
            unique=True,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("hotfix", schema=None) as batch_op:
        batch_op.drop_index("uq_hotfix_one_active_per_application")
        batch_op.create_index(
            "uq_hotfix_one_active_per_application",
            ["application_id"],
            unique=True,
            sqlite_where=sa.text(PREVIOUS),
            postgresql_where=sa.text(PREVIOUS),
        )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("deployer_settings")
        batch_op.drop_column("deployer")

    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_next_poll_at"))
        batch_op.drop_index(batch_op.f("ix_deployment_hotfix_id"))

    op.drop_table("deployment")
