"""Notifications: push subscriptions, snoozes and the decision log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("endpoint_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("cameras", sa.JSON, nullable=True),
        sa.Column("kinds", sa.JSON, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_sent_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])
    op.create_table(
        "notification_snoozes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("until", TZ, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_notification_snoozes_camera", "notification_snoozes", ["camera"])
    op.create_index("ix_notification_snoozes_user_id", "notification_snoozes", ["user_id"])
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("event_id", sa.Integer, nullable=True),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(80), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_notification_log_at", "notification_log", ["at"])
    op.create_index("ix_notification_log_camera", "notification_log", ["camera"])
    op.create_index("ix_notification_log_user_id", "notification_log", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_log_user_id", "notification_log")
    op.drop_index("ix_notification_log_camera", "notification_log")
    op.drop_index("ix_notification_log_at", "notification_log")
    op.drop_table("notification_log")
    op.drop_index("ix_notification_snoozes_user_id", "notification_snoozes")
    op.drop_index("ix_notification_snoozes_camera", "notification_snoozes")
    op.drop_table("notification_snoozes")
    op.drop_index("ix_push_subscriptions_user_id", "push_subscriptions")
    op.drop_table("push_subscriptions")
