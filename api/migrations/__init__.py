"""Alembic migrations; run on every start by ``api.db.Database.migrate``."""
