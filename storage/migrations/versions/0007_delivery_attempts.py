"""delivery attempts: outbox rows and living messages count the deliveries that took them, so a
row taken before (by a process that may have posted it and died) is looked up in Slack first

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows waiting at upgrade time count as taken before: they may have been sent by the old
    # release just before it stopped, so the new one reads Slack before sending them.
    for table in ("outbox", "hotfix_message"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("claims", sa.Integer(), server_default="0", nullable=False)
            )
    op.execute("UPDATE outbox SET claims = 1 WHERE delivered_at IS NULL")
    op.execute("UPDATE hotfix_message SET claims = 1 WHERE ts = ''")


def downgrade() -> None:
    for table in ("hotfix_message", "outbox"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("claims")
