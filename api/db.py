"""The database: SQLite (WAL) in the data dir by default, PostgreSQL when configured.

SQLAlchemy's synchronous engine, used from worker threads through :meth:`Database.run`,
so no query ever runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Session, sessionmaker

from camera.redact import redact

logger = logging.getLogger(__name__)

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def aware(moment: datetime) -> datetime:
    """A stored time with its zone: SQLite hands back naive datetimes (all are UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def database_url(configured: str | None, data_dir: Path) -> str:
    return configured or f"sqlite:///{data_dir / 'sentrycam.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# Alembic's own version table, as ``alembic upgrade`` creates it.
VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def head_revision() -> str:
    """The newest migration, read from the scripts (without importing Alembic)."""
    revisions: dict[str, str | None] = {}
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = re.search(r'^revision = "([^"]+)"', source, re.M)
        down = re.search(r'^down_revision = (?:"([^"]+)"|None)', source, re.M)
        if revision and down:
            revisions[revision.group(1)] = down.group(1)
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have one head, found {sorted(heads)}")
    return heads.pop()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        self.engine: Engine = create_engine(
            url,
            connect_args={"check_same_thread": False} if sqlite else {},
            pool_pre_ping=not sqlite,
        )
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic ``upgrade head``), when it is not."""
        current, head = self.schema_version(), head_revision()
        if current == head:
            logger.info("database ready: %s", redact(self.url))
            return
        if current is None and self._create_new(head):
            logger.info("database schema created at %s: %s", head, redact(self.url))
            return
        # Imported only to upgrade: Alembic costs ~10 MB resident for the process's life.
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        done = f"upgraded from {current} to {head}" if current else f"created at {head}"
        logger.info("database schema %s: %s", done, redact(self.url))

    def _create_new(self, head: str) -> bool:
        """An empty database gets the models' schema and is stamped at ``head`` (what
        Alembic's documentation advises for new databases), without importing Alembic;
        tests/test_storage.py checks it equals what the migrations build. False if the
        database holds tables already (they are Alembic's to upgrade)."""
        from .models import Base

        with self.engine.begin() as connection:
            if set(inspect(connection).get_table_names()) - {VERSION_TABLE.name}:
                return False
            Base.metadata.create_all(connection)
            VERSION_TABLE.create(connection, checkfirst=True)
            connection.execute(VERSION_TABLE.insert().values(version_num=head))
        return True

    def schema_version(self) -> str | None:
        """The Alembic revision the database is at (None: a new database)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def call(self, work: Callable[[Session], T]) -> T:
        with self.session() as session:
            return work(session)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a worker thread, in one transaction."""
        return await asyncio.to_thread(self.call, work)

    def close(self) -> None:
        self.engine.dispose()
