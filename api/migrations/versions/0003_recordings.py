"""Recordings (event clips, continuous segments) and the event -> clip link.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.String(255), nullable=False, unique=True),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ, nullable=True),
        sa.Column("duration", sa.Float, nullable=False, server_default="0"),
        sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("audio", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_recordings_camera", "recordings", ["camera"])
    op.create_index("ix_recordings_kind", "recordings", ["kind"])
    op.create_index("ix_recordings_start", "recordings", ["start"])
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("clip_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("clip_id")
    op.drop_index("ix_recordings_start", "recordings")
    op.drop_index("ix_recordings_kind", "recordings")
    op.drop_index("ix_recordings_camera", "recordings")
    op.drop_table("recordings")
