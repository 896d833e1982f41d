"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 00:18:22.553800
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name_key", sqltypes.AutoString(length=120), nullable=False),
        sa.Column("home_channel", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("require_approval", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "applied_request",
        sa.Column("key", sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "environment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqltypes.AutoString(length=80), nullable=False),
        sa.Column("alias", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_hotfix_environment", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alias"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("position"),
    )
    op.create_table(
        "app_version",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("has_changes", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
        ),
        sa.PrimaryKeyConstraint("application_id", "environment_id"),
    )
    op.create_table(
        "hotfix",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("summary", sqltypes.AutoString(length=300), nullable=False),
        sa.Column("severity", sqltypes.AutoString(length=20), nullable=False),
        sa.Column("state", sqltypes.AutoString(length=30), nullable=False),
        sa.Column("opened_by", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("opened_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("base_version", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("hotfix_environment_had_changes", sa.Boolean(), nullable=False),
        sa.Column("requested_version", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("requested_by", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("requested_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("deployed_version", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("deployed_by", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("approved_by", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("deployed_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("closed_at", sqltypes.UTCDateTime(), nullable=True),
        sa.Column("close_reason", sqltypes.AutoString(length=500), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hotfix", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hotfix_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hotfix_state"), ["state"], unique=False)
        batch_op.create_index(
            "uq_hotfix_one_active_per_application",
            ["application_id"],
            unique=True,
            sqlite_where=sa.text("state IN ('open', 'awaiting_approval', 'propagating')"),
            postgresql_where=sa.text("state IN ('open', 'awaiting_approval', 'propagating')"),
        )

    op.create_table(
        "member",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("role", sqltypes.AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.PrimaryKeyConstraint("application_id", "user_id", "role"),
    )
    op.create_table(
        "module",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("name", sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name_key", sqltypes.AutoString(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "name_key"),
    )
    with op.batch_alter_table("module", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_module_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "used_tag",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqltypes.AutoString(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.PrimaryKeyConstraint("application_id", "tag"),
    )
    op.create_table(
        "checklist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("status", sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqltypes.AutoString(length=500), nullable=True),
        sa.Column("done_by", sqltypes.AutoString(length=40), nullable=True),
        sa.Column("done_at", sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfix.id"],
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["module.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hotfix_id", "environment_id", "module_id"),
    )
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_item_hotfix_id"), ["hotfix_id"], unique=False
        )

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfix.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_hotfix_id"), ["hotfix_id"], unique=False)

    op.create_table(
        "hotfix_message",
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("ts", sqltypes.AutoString(length=40), nullable=False),
        sa.Column("shown_revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfix.id"],
        ),
        sa.PrimaryKeyConstraint("hotfix_id", "channel"),
    )
    op.create_table(
        "hotfix_module",
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfix.id"],
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["module.id"],
        ),
        sa.PrimaryKeyConstraint("hotfix_id", "module_id"),
    )
    op.create_table(
        "hotfix_owner",
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqltypes.AutoString(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfix.id"],
        ),
        sa.PrimaryKeyConstraint("hotfix_id", "user_id"),
    )
    op.create_table(
        "module_revision",
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["module.id"],
        ),
        sa.PrimaryKeyConstraint("module_id", "environment_id"),
    )


def downgrade() -> None:
    op.drop_table("module_revision")
    op.drop_table("hotfix_owner")
    op.drop_table("hotfix_module")
    op.drop_table("hotfix_message")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_hotfix_id"))

    op.drop_table("event")
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_item_hotfix_id"))

    op.drop_table("checklist_item")
    op.drop_table("used_tag")
    with op.batch_alter_table("module", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_module_application_id"))

    op.drop_table("module")
    op.drop_table("member")
    with op.batch_alter_table("hotfix", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_hotfix_one_active_per_application",
            sqlite_where=sa.text("state IN ('open', 'awaiting_approval', 'propagating')"),
            postgresql_where=sa.text("state IN ('open', 'awaiting_approval', 'propagating')"),
        )
        batch_op.drop_index(batch_op.f("ix_hotfix_state"))
        batch_op.drop_index(batch_op.f("ix_hotfix_application_id"))

    op.drop_table("hotfix")
    op.drop_table("app_version")
    op.drop_table("environment")
    op.drop_table("applied_request")
    op.drop_table("application")
