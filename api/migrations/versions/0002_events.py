"""Events, per-camera arm state, and the live channel's message log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ, nullable=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("zones", sa.JSON, nullable=False),
        sa.Column("alert", sa.Boolean, nullable=False),
        sa.Column("snapshot", sa.String(255), nullable=True),
        sa.Column("acknowledged_at", TZ, nullable=True),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_events_camera", "events", ["camera"])
    op.create_index("ix_events_kind", "events", ["kind"])
    op.create_index("ix_events_start", "events", ["start"])
    op.create_table(
        "camera_settings",
        sa.Column("camera", sa.String(32), primary_key=True),
        sa.Column("armed", sa.Boolean, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "live_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("camera", sa.String(32), nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_index("ix_live_messages_at", "live_messages", ["at"])


def downgrade() -> None:
    op.drop_table("live_messages")
    op.drop_table("camera_settings")
    op.drop_table("events")
