"""idempotency keys without stored responses: a replay answers the order as its placement
recorded it, rebuilt from the event stream

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders_idempotency_keys") as table:
        table.drop_column("response")
        table.drop_column("status_code")


def downgrade() -> None:
    with op.batch_alter_table("orders_idempotency_keys") as table:
        table.add_column(
            sa.Column("status_code", sa.Integer(), nullable=False, server_default="201")
        )
        table.add_column(sa.Column("response", sa.JSON(), nullable=False, server_default="{}"))
