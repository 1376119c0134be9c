"""API idempotency keys, order summary read model and projection tracking positions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "orders_idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "orders_summaries",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("shipping_country", sa.String(2), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_position", _Position, nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_orders_summaries_placed", "orders_summaries", ["placed_at", "order_id"])
    op.create_index(
        "ix_orders_summaries_status_placed",
        "orders_summaries",
        ["status", "placed_at", "order_id"],
    )
    op.create_table(
        "orders_projection_positions",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", _Position, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("orders_projection_positions")
    op.drop_index("ix_orders_summaries_status_placed", table_name="orders_summaries")
    op.drop_index("ix_orders_summaries_placed", table_name="orders_summaries")
    op.drop_table("orders_summaries")
    op.drop_table("orders_idempotency_keys")
