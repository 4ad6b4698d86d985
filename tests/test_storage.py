"""Storage on both backends (SQLite in WAL mode and a real PostgreSQL server).

Migrations from an empty database, accounts, events (batched writes, snapshots, crash
recovery, arming, acknowledging) and the live channel's message log, each checked against
what is actually in the database afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete, func, inspect, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.accounts import Accounts, NoSuchToken, Principal, Role, UserExists, digest
from api.db import MIGRATIONS, Database
from api.models import (
    ApiToken,
    AuditEntry,
    Base,
    CameraSetting,
    Event,
    LiveMessage,
    LoginSession,
    User,
)
from api.payloads import event_json
from api.services.event_service import EventService
from api.services.live_channel import LiveChannel, LiveConnection
from api.settings import EventsConfig
from camera.analysis import Observation
from tests.postgres import fresh_schema, postgres_url  # noqa: F401 (the fixture)
from tests.test_live_channel import FakeSocket

PASSWORD = "correct-horse-battery-9"
ACCOUNT_TABLES = {"users", "login_sessions", "api_tokens", "audit_log"}


# ----- fixtures and helpers -------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sentrycam.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    with fresh_schema(server_url) as url:
        yield url


@pytest.fixture
def open_database() -> Iterator[Callable[[str], Database]]:
    """Open (more) ``Database`` objects, as a restarted server would; closed afterwards."""
    opened: list[Database] = []

    def open_(url: str) -> Database:
        database = Database(url)
        opened.append(database)
        return database

    yield open_
    for database in opened:
        database.close()


@pytest.fixture
def database(database_url: str, open_database: Callable[[str], Database]) -> Database:
    database = open_database(database_url)
    database.migrate()
    return database


def alembic_config(connection: Connection) -> Config:
    """The Alembic config ``Database.migrate`` builds, on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def table_names(database: Database) -> set[str]:
    return set(inspect(database.engine).get_table_names())


def schema_drift(database: Database) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def schema_snapshot(database: Database) -> dict[str, Any]:
    inspector = inspect(database.engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
        }
        for table in sorted(inspector.get_table_names())
    }


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def jpeg(seed: int) -> bytes:
    """Distinct picture bytes (SOI ... EOI); the service stores them verbatim."""
    return b"\xff\xd8\xff\xe0" + bytes((seed + i) % 256 for i in range(2048)) + b"\xff\xd9"


def all_events(database: Database) -> dict[int, Event]:
    return {row.id: row for row in database.call(lambda db: list(db.scalars(select(Event))))}


def live_messages(database: Database) -> list[LiveMessage]:
    return database.call(lambda db: list(db.scalars(select(LiveMessage).order_by(LiveMessage.id))))


def count(database: Database, model: type[Base]) -> int:
    return database.call(lambda db: db.scalar(select(func.count()).select_from(model)) or 0)


@dataclass
class Events:
    """Starts EventServices the way ``api.services`` does, and stops them afterwards."""

    data_dir: Path
    running: list[EventService] = field(default_factory=list)

    async def start(self, database: Database) -> tuple[EventService, LiveChannel]:
        live = LiveChannel()
        service = EventService(database, live, self.data_dir, EventsConfig())
        await service.start()
        self.running.append(service)
        return service, live

    async def stop(self, service: EventService) -> None:
        self.running.remove(service)
        await service.stop()

    async def crash(self, service: EventService) -> None:
        """Stop the service as a power cut would: nothing more is written, nothing closed."""
        self.running.remove(service)
        # The service's tasks are named: its flusher is the one to stop (a power cut).
        flusher = [t for t in asyncio.all_tasks() if t.get_name() == "events-flush"]
        assert len(flusher) == 1
        flusher[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher[0]


@pytest.fixture
async def events(
    database: Database, open_database: Callable[[str], Database], tmp_path: Path
) -> AsyncIterator[Events]:
    # Depends on the database fixtures so that it is torn down before they are.
    harness = Events(tmp_path / "data")
    yield harness
    for service in reversed(harness.running):
        await service.stop()


def restarted(database: Database, open_database: Callable[[str], Database]) -> Database:
    """The same database as a new server process opens it (a new engine, migrate at start)."""
    again = open_database(database.url)
    again.migrate()
    return again


# ----- migrations -----------------------------------------------------------------------


def test_migrations_create_the_model_schema_from_empty(
    database_url: str, open_database: Callable[[str], Database]
) -> None:
    database = open_database(database_url)
    assert table_names(database) == set()
    database.migrate()

    assert table_names(database) == set(Base.metadata.tables) | {"alembic_version"}
    inspector = inspect(database.engine)
    for name, table in Base.metadata.tables.items():
        reflected = {column["name"]: column for column in inspector.get_columns(name)}
        assert list(reflected) == [column.name for column in table.columns], name
        for column in table.columns:
            found = reflected[column.name]
            where = f"{name}.{column.name}"
            assert found["nullable"] == column.nullable, where
            assert found["type"]._type_affinity is column.type._type_affinity, where
        primary = inspector.get_pk_constraint(name)["constrained_columns"]
        assert primary == [column.name for column in table.primary_key.columns], name
        indexes = {index["name"] for index in inspector.get_indexes(name)}
        assert {index.name for index in table.indexes} <= indexes, name
    # Types, indexes, unique constraints, foreign keys: nothing left for autogenerate to do.
    assert schema_drift(database) == []
    assert current_revision(database) == head_revision() == "0004"


def test_a_new_database_is_created_as_the_migrations_would_build_it(
    database_url: str, open_database: Callable[[str], Database]
) -> None:
    """``migrate`` creates an empty database from the models without Alembic (10 MB less
    resident); the same schema as running every migration from nothing."""
    database = open_database(database_url)
    with database.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    by_migrations = schema_snapshot(database)
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
        connection.execute(text("DROP TABLE alembic_version"))
    assert table_names(database) == set()

    database.migrate()
    assert schema_snapshot(database) == by_migrations
    assert current_revision(database) == head_revision()
    assert schema_drift(database) == []


def test_migrate_twice_is_a_no_op(database: Database) -> None:
    before = schema_snapshot(database)
    database.call(lambda db: Accounts().create_user(db, "alice", PASSWORD, "admin", None))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.strip().split(None, 1)[0].upper())

    sa_event.listen(database.engine, "before_cursor_execute", record)
    try:
        database.migrate()
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", record)

    writes = {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    assert not writes & set(statements), statements
    assert schema_snapshot(database) == before
    assert current_revision(database) == head_revision()
    assert count(database, User) == 1


def test_downgrade_to_base_and_up_again(database: Database) -> None:
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    assert table_names(database) == ACCOUNT_TABLES | {"alembic_version"}
    assert current_revision(database) == "0001"

    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert table_names(database) - {"alembic_version"} == set()
    assert current_revision(database) is None

    database.migrate()
    assert table_names(database) == set(Base.metadata.tables) | {"alembic_version"}
    assert current_revision(database) == head_revision()
    assert schema_drift(database) == []


# ----- accounts -------------------------------------------------------------------------


def test_users_and_logins(database: Database) -> None:
    accounts = Accounts()
    call = database.call
    before = datetime.now(UTC)
    alice = call(lambda db: accounts.create_user(db, "alice", PASSWORD, "admin", ["front"]))
    call(lambda db: accounts.create_user(db, "bob", PASSWORD, "viewer", ["front", "back"]))
    assert alice.id is not None

    stored = call(lambda db: accounts.get_user(db, "bob"))
    assert stored.role == "viewer"
    assert stored.cameras == ["front", "back"]
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    created = aware(stored.created_at)
    assert created is not None
    assert before <= created <= datetime.now(UTC)
    assert call(lambda db: accounts.get_user(db, "alice")).cameras is None  # admins see all

    with pytest.raises(UserExists):
        call(lambda db: accounts.create_user(db, "alice", PASSWORD, "viewer", None))
    # The database enforces it too, not only the service.
    with pytest.raises(IntegrityError):
        call(
            lambda db: db.add(
                User(
                    name="alice",
                    password_hash="x",
                    role="viewer",
                    cameras=None,
                    created_at=before,
                    password_changed_at=before,
                )
            )
        )
    assert [user.name for user in call(accounts.list_users)] == ["alice", "bob"]
    assert call(accounts.user_count) == 2

    login = call(lambda db: accounts.verify_login(db, "bob", PASSWORD))
    assert login is not None
    assert login.name == "bob"
    assert call(lambda db: accounts.verify_login(db, "bob", PASSWORD + "x")) is None
    assert call(lambda db: accounts.verify_login(db, "nobody", PASSWORD)) is None


def test_sessions(database: Database) -> None:
    accounts = Accounts()
    call = database.call
    call(lambda db: accounts.create_user(db, "bob", PASSWORD, "viewer", ["front"]))

    def new_session(db: Session) -> str:
        return accounts.create_session(db, accounts.get_user(db, "bob"), "127.0.0.1", "pytest")

    cookie = call(new_session)
    principal = call(lambda db: accounts.resolve_session(db, cookie))
    assert principal is not None
    assert (principal.name, principal.role, principal.via) == ("bob", "viewer", "session")
    assert principal.cameras == frozenset({"front"})
    assert principal.session_hash == digest(cookie)
    assert principal.csrf_token
    # Only the hash of the cookie is stored.
    assert call(lambda db: db.get(LoginSession, cookie)) is None
    row = call(lambda db: db.get(LoginSession, digest(cookie)))
    assert row is not None
    assert (row.client, row.user_agent) == ("127.0.0.1", "pytest")
    assert call(lambda db: accounts.resolve_session(db, "not-a-session")) is None

    # Last-seen is written coarsely: a session seen 10 minutes ago is touched.
    stamp = datetime.now(UTC)
    call(
        lambda db: db.execute(
            update(LoginSession)
            .where(LoginSession.id_hash == digest(cookie))
            .values(last_seen_at=stamp - timedelta(minutes=10))
        )
    )
    assert call(lambda db: accounts.resolve_session(db, cookie)) is not None
    row = call(lambda db: db.get(LoginSession, digest(cookie)))
    assert row is not None
    touched = aware(row.last_seen_at)
    assert touched is not None
    assert touched >= stamp

    # Expired: past its lifetime.
    call(
        lambda db: db.execute(
            update(LoginSession)
            .where(LoginSession.id_hash == digest(cookie))
            .values(expires_at=stamp - timedelta(seconds=1))
        )
    )
    assert call(lambda db: accounts.resolve_session(db, cookie)) is None
    assert call(lambda db: db.get(LoginSession, digest(cookie))) is None  # and removed

    # Expired: idle for longer than session_idle_days.
    idle = call(new_session)
    call(
        lambda db: db.execute(
            update(LoginSession)
            .where(LoginSession.id_hash == digest(idle))
            .values(last_seen_at=stamp - timedelta(days=8))
        )
    )
    assert call(lambda db: accounts.resolve_session(db, idle)) is None

    # Ending one session leaves the others; pruning removes only expired ones.
    kept, ended, stale = call(new_session), call(new_session), call(new_session)
    call(lambda db: accounts.end_session(db, digest(ended)))
    call(
        lambda db: db.execute(
            update(LoginSession)
            .where(LoginSession.id_hash == digest(stale))
            .values(expires_at=stamp - timedelta(days=1))
        )
    )
    assert call(accounts.prune_sessions) == 1
    user_id = call(lambda db: accounts.get_user(db, "bob")).id
    assert call(lambda db: accounts.user_session_hashes(db, user_id)) == [digest(kept)]


def test_api_tokens(database: Database) -> None:
    accounts = Accounts()
    call = database.call
    call(lambda db: accounts.create_user(db, "alice", PASSWORD, "admin", None))
    bob = call(lambda db: accounts.create_user(db, "bob", PASSWORD, "viewer", ["back"]))

    plain, token = call(
        lambda db: accounts.create_token(db, accounts.get_user(db, "bob"), "cli", None)
    )
    assert plain.startswith("sc_")
    assert token.prefix == plain[:10]
    assert token.token_hash == digest(plain)
    assert call(lambda db: db.scalar(select(ApiToken).where(ApiToken.token_hash == plain))) is None

    principal = call(lambda db: accounts.resolve_token(db, plain))
    assert principal is not None
    assert (principal.name, principal.via) == ("bob", "token")
    assert principal.cameras == frozenset({"back"})
    used = call(lambda db: db.get(ApiToken, token.id))
    assert used is not None
    assert used.last_used_at is not None
    assert call(lambda db: accounts.resolve_token(db, "sc_unknown")) is None
    assert call(lambda db: accounts.resolve_token(db, plain[3:])) is None  # no prefix

    listed = call(lambda db: [(t.id, name) for t, name in accounts.list_tokens(db)])
    assert listed == [(token.id, "bob")]
    assert call(lambda db: len(accounts.list_tokens(db, user_id=bob.id + 1000))) == 0

    # Revoking: only the owner (or an admin, without user_id) can, and it sticks.
    with pytest.raises(NoSuchToken):
        call(lambda db: accounts.revoke_token(db, token.id, user_id=bob.id + 1000))
    assert call(lambda db: accounts.resolve_token(db, plain)) is not None
    revoked = call(lambda db: accounts.revoke_token(db, token.id, user_id=bob.id))
    assert call(lambda db: accounts.resolve_token(db, plain)) is None
    again = call(lambda db: accounts.revoke_token(db, token.id))
    assert aware(again.revoked_at) == aware(revoked.revoked_at)
    with pytest.raises(NoSuchToken):
        call(lambda db: accounts.revoke_token(db, token.id + 1000))

    # Expiry.
    past = datetime.now(UTC) - timedelta(minutes=1)
    expired, _ = call(
        lambda db: accounts.create_token(db, accounts.get_user(db, "bob"), "old", past)
    )
    assert call(lambda db: accounts.resolve_token(db, expired)) is None
    future = datetime.now(UTC) + timedelta(days=1)
    valid, _ = call(
        lambda db: accounts.create_token(db, accounts.get_user(db, "bob"), "new", future)
    )
    assert call(lambda db: accounts.resolve_token(db, valid)) is not None


def test_audit_log(database: Database) -> None:
    accounts = Accounts()
    call = database.call
    before = datetime.now(UTC)
    for i in range(5):
        call(
            partial(
                accounts.audit,
                actor="alice",
                action="login",
                target=f"target{i}",
                client="127.0.0.1",
                ok=i % 2 == 0,
                detail=f"#{i}",
            )
        )
    newest = call(lambda db: accounts.audit_entries(db, 3))
    assert [entry.target for entry in newest] == ["target4", "target3", "target2"]
    assert [entry.ok for entry in newest] == [True, False, True]
    assert all(entry.actor == "alice" and entry.action == "login" for entry in newest)
    stamp = aware(newest[0].at)
    assert stamp is not None
    assert before <= stamp <= datetime.now(UTC)
    older = call(lambda db: accounts.audit_entries(db, 10, before_id=newest[-1].id))
    assert [(entry.target, entry.detail) for entry in older] == [
        ("target1", "#1"),
        ("target0", "#0"),
    ]
    assert count(database, AuditEntry) == 5


def test_deleting_a_user_cascades_to_sessions_and_tokens(database: Database) -> None:
    accounts = Accounts()
    call = database.call
    for name in ("alice", "carol"):
        call(
            partial(accounts.create_user, name=name, password=PASSWORD, role="viewer", cameras=None)
        )

    def credentials(db: Session, name: str) -> None:
        user = accounts.get_user(db, name)
        accounts.create_session(db, user, "127.0.0.1", "pytest")
        accounts.create_token(db, user, "t", None)

    call(lambda db: credentials(db, "alice"))
    call(lambda db: credentials(db, "carol"))
    assert (count(database, LoginSession), count(database, ApiToken)) == (2, 2)

    # A plain DELETE, not Accounts.remove_user: the database's ON DELETE CASCADE must act.
    call(lambda db: db.execute(delete(User).where(User.name == "carol")))
    alice_id = call(lambda db: accounts.get_user(db, "alice")).id
    assert call(lambda db: list(db.scalars(select(LoginSession.user_id)))) == [alice_id]
    assert call(lambda db: list(db.scalars(select(ApiToken.user_id)))) == [alice_id]

    # And a row pointing at no user is refused.
    stamp = datetime.now(UTC)
    orphan = LoginSession(
        id_hash=digest("orphan"),
        user_id=alice_id + 1000,
        csrf_token="x",
        created_at=stamp,
        last_seen_at=stamp,
        expires_at=stamp,
        client="",
        user_agent="",
    )
    with pytest.raises(IntegrityError):
        call(lambda db: db.add(orphan))


def test_sqlite_file_is_in_wal_mode_with_foreign_keys(
    tmp_path: Path, open_database: Callable[[str], Database]
) -> None:
    path = tmp_path / "sentrycam.db"
    database = open_database(f"sqlite:///{path}")
    database.migrate()
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    # WAL is a property of the file: any other connection (another process) sees it.
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# ----- events ---------------------------------------------------------------------------


async def test_motion_event_round_trip(database: Database, events: Events) -> None:
    service, _ = await events.start(database)
    t0 = time.time()
    early, best = jpeg(1), jpeg(2)
    service.observe(
        Observation(
            "front", "motion", "start", t0, 0.2, [(0.1, 0.1, 0.2, 0.2)], ["door"], snapshot=early
        )
    )
    await service.flush()
    row = all_events(database)[1]
    assert (row.camera, row.kind, row.end, row.snapshot) == ("front", "motion", None, "front/1.jpg")
    assert aware(row.start) == at(t0)
    snapshot = service.snapshot_dir / "front" / "1.jpg"
    assert snapshot.read_bytes() == early
    assert service.snapshot_path(row) == snapshot

    service.observe(Observation("front", "motion", "update", t0 + 1, 0.9, [(0.5, 0.5, 0.1, 0.1)]))
    service.observe(
        Observation("front", "motion", "update", t0 + 2, 0.4, [(0.3, 0.3, 0.2, 0.2)], ["yard"])
    )
    service.observe(Observation("front", "motion", "end", t0 + 3, 0.9, [], ["door"], snapshot=best))
    await service.flush()

    row = all_events(database)[1]
    assert row.score == pytest.approx(0.9)  # the peak, not the last
    assert row.regions == [[0.3, 0.3, 0.2, 0.2]]  # the last non-empty regions
    assert row.zones == ["door", "yard"]
    assert aware(row.start) == at(t0)
    assert aware(row.end) == at(t0 + 3)
    assert row.alert is True  # armed by default, first event of the camera
    assert row.detail == ""
    assert snapshot.read_bytes() == best  # the best moment replaces the early picture
    assert sorted(p.name for p in snapshot.parent.iterdir()) == ["1.jpg"]  # no temporary file

    # What the live channel said is stored, and agrees with the row REST reads.
    messages = [message.payload for message in live_messages(database)]
    kinds = [(m["type"], m.get("phase")) for m in messages]
    assert kinds == [("event", "start"), ("alert", None), ("event", "end")]  # no "update"s
    # Updates are numbered too (ids 3, 4 went out live), so stored ids increase with gaps.
    assert [m["id"] for m in messages] == [1, 2, 5]
    assert messages[2]["event"] == event_json(row)


async def test_observations_are_written_in_one_transaction_per_flush(
    database: Database, events: Events
) -> None:
    service, _ = await events.start(database)
    commits: list[int] = []

    def on_commit(_connection: Any) -> None:
        commits.append(1)

    t0 = time.time()
    # No await between the observations: nothing else (the flush loop) can run meanwhile.
    service.observe(Observation("front", "motion", "start", t0, 0.01, [(0, 0, 1, 1)], ["a"]))
    for i in range(200):
        service.observe(
            Observation("front", "motion", "update", t0 + i / 100, i / 1000, [(0, 0, 1, 1)], ["a"])
        )
    assert count(database, Event) == 0  # queued in memory, not written per observation

    sa_event.listen(database.engine, "commit", on_commit)
    try:
        await service.flush()
        assert len(commits) == 1
        for i in range(200):
            service.observe(Observation("front", "motion", "update", t0 + 2 + i / 100, 0.5))
        service.observe(Observation("front", "motion", "end", t0 + 5, 0.3))
        await service.flush()
        assert len(commits) == 2
        await service.flush()  # nothing queued: no transaction at all
        assert len(commits) == 2
    finally:
        sa_event.remove(database.engine, "commit", on_commit)

    rows = all_events(database)
    assert list(rows) == [1]
    assert rows[1].score == pytest.approx(0.5)
    assert aware(rows[1].end) == at(t0 + 5)
    # Start, alert and end were kept; the 400 updates went out live only.
    assert len(live_messages(database)) == 3


async def test_restart_closes_open_events_and_continues_ids(
    database: Database, open_database: Callable[[str], Database], events: Events
) -> None:
    service, live = await events.start(database)
    t0 = time.time() - 60
    service.observe(Observation("front", "motion", "start", t0, 0.5))  # 1: left open
    service.observe(Observation("front", "sound", "start", t0 + 1, -20.0, detail="-20.0 dBFS"))
    service.observe(Observation("back", "motion", "start", t0 + 2, 0.3))  # 3: closed
    service.observe(Observation("back", "motion", "end", t0 + 4, 0.3))
    await service.flush()
    # An older, closed event with a higher id (ids are never reused, even after pruning).
    database.call(
        lambda db: db.add(
            Event(
                id=41,
                camera="side",
                kind="motion",
                start=at(t0 - 10),
                end=at(t0 - 5),
                score=0.1,
                regions=[],
                zones=[],
                alert=False,
                detail="",
            )
        )
    )
    last_message = live.last_id
    await events.crash(service)

    again = restarted(database, open_database)
    service2, live2 = await events.start(again)
    rows = all_events(again)
    assert set(rows) == {1, 2, 3, 41}
    assert aware(rows[1].end) == aware(rows[1].start) == at(t0)
    assert "restart" in rows[1].detail
    assert aware(rows[2].end) == at(t0 + 1)
    assert rows[2].detail == "-20.0 dBFS (cut short by a restart)"
    assert (aware(rows[3].end), rows[3].detail) == (at(t0 + 4), "")
    assert (aware(rows[41].end), rows[41].detail) == (at(t0 - 5), "")

    now = time.time()
    service2.observe(Observation("front", "motion", "start", now, 0.7))
    service2.observe(Observation("front", "motion", "end", now + 1, 0.7))
    service2.observe(Observation("back", "sound", "start", now, -10.0))
    await service2.flush()
    rows = all_events(again)
    assert set(rows) == {1, 2, 3, 41, 42, 43}
    assert (rows[42].camera, rows[42].kind, aware(rows[42].end)) == ("front", "motion", at(now + 1))
    assert (rows[43].camera, rows[43].kind, rows[43].end) == ("back", "sound", None)
    # Live message ids continue too.
    ids = [message.id for message in live_messages(again)]
    assert ids == list(range(1, len(ids) + 1))
    assert live2.last_id == ids[-1] > last_message


async def test_start_prunes_what_is_older_than_keep_days(
    database: Database, events: Events
) -> None:
    old, recent = time.time() - 31 * 86400, time.time() - 86400  # keep_days is 30

    def seed(db: Session) -> None:
        for event_id, t in ((1, old), (2, recent)):
            db.add(
                Event(
                    id=event_id,
                    camera="front",
                    kind="motion",
                    start=at(t),
                    end=at(t + 1),
                    score=0.5,
                    regions=[],
                    zones=[],
                    alert=False,
                    detail="",
                )
            )
        for message_id, t in ((1, old), (2, recent)):
            db.add(LiveMessage(id=message_id, at=at(t), camera=None, payload={"id": message_id}))

    database.call(seed)
    service, live = await events.start(database)
    assert set(all_events(database)) == {2}
    assert [message.id for message in live_messages(database)] == [2]
    assert live.last_id == 2
    service.observe(Observation("front", "motion", "start", time.time(), 0.5))
    await service.flush()
    assert set(all_events(database)) == {2, 3}


async def reconnect(live: LiveChannel, last_id: int, cameras: set[str] | None) -> list[Any]:
    """Messages a client that last saw ``last_id`` gets on reconnecting."""
    role: Role = "admin" if cameras is None else "viewer"
    seen = None if cameras is None else frozenset(cameras)
    principal = Principal(1, "someone", role, seen, "token")
    websocket = FakeSocket(gone=True)
    connection = LiveConnection(websocket, principal)  # type: ignore[arg-type]
    await asyncio.wait_for(live.serve(connection, {"type": "hello"}, last_id), 10)
    hello, *replayed = websocket.sent
    assert hello == {"type": "hello", "last_id": live.last_id}
    return replayed


async def test_live_messages_replay_from_the_database_after_a_restart(
    database: Database, open_database: Callable[[str], Database], events: Events
) -> None:
    service, live = await events.start(database)
    t0 = time.time()
    await service.set_armed("front", True)
    service.observe(Observation("front", "motion", "start", t0, 0.5))
    service.observe(Observation("front", "motion", "end", t0 + 1, 0.5))
    service.observe(Observation("back", "motion", "start", t0 + 2, 0.5))
    await events.stop(service)  # a clean stop closes the open event and flushes
    stored = [(message.camera, message.payload) for message in live_messages(database)]
    assert [payload["id"] for _, payload in stored] == list(range(1, live.last_id + 1))
    assert stored[-1][1]["event"]["detail"] == "server stopped"

    again = restarted(database, open_database)
    service2, live2 = await events.start(again)
    assert live2.last_id == live.last_id  # numbering resumes where it stopped
    await service2.set_armed("back", False)
    service2.observe(Observation("front", "motion", "start", time.time(), 0.4))
    newest = live2.last_id
    assert newest > live.last_id

    replayed = await service2.store.messages(0, newest)  # flushes the pending ones first
    assert replayed[: len(stored)] == stored
    assert [payload["id"] for _, payload in replayed] == list(range(1, newest + 1))
    assert await service2.store.messages(2, 4) == stored[2:4]
    assert await service2.store.messages(newest, newest) == []

    # A client of the old process reconnects with the last id it saw: it gets what it missed,
    # from the database (older than this process) and from memory, in order, once each.
    everything = [payload for _, payload in replayed]
    assert await reconnect(live2, 1, None) == everything[1:]
    assert await reconnect(live2, newest, None) == []
    back_only = await reconnect(live2, 0, {"back"})
    assert back_only == [p for camera, p in replayed if camera in (None, "back")]
    assert back_only


async def test_arming_persists_across_a_restart(
    database: Database, open_database: Callable[[str], Database], events: Events
) -> None:
    service, _ = await events.start(database)
    assert service.armed("front") is True  # cameras are armed until disarmed
    await service.set_armed("front", False)
    # Written at once, not with the next batch.
    front = database.call(lambda db: db.get(CameraSetting, "front"))
    assert front is not None
    assert front.armed is False
    for armed in (False, True, False, True):
        await service.set_armed("back", armed)
    assert count(database, CameraSetting) == 2
    await events.crash(service)

    again = restarted(database, open_database)
    service2, _ = await events.start(again)
    assert service2.armed("front") is False
    assert service2.armed("back") is True
    assert service2.armed("side") is True
    service2.observe(Observation("front", "motion", "start", time.time(), 0.5))
    service2.observe(Observation("back", "motion", "start", time.time(), 0.5))
    await service2.flush()
    alerts = {row.camera: row.alert for row in all_events(again).values()}
    assert alerts == {"front": False, "back": True}


async def test_acknowledge(database: Database, events: Events) -> None:
    service, _ = await events.start(database)
    t0 = time.time()
    service.observe(Observation("front", "motion", "start", t0, 0.5))  # 1, closed
    service.observe(Observation("front", "motion", "end", t0 + 1, 0.5))
    service.observe(Observation("back", "motion", "start", t0, 0.5))  # 2, still open
    await service.flush()

    before = datetime.now(UTC)
    await service.acknowledge(1, "alice")
    row = all_events(database)[1]
    assert row.acknowledged_by == "alice"
    acknowledged = aware(row.acknowledged_at)
    assert acknowledged is not None
    assert before <= acknowledged <= datetime.now(UTC)
    assert event_json(row)["acknowledged"] is True

    await service.acknowledge(1, "bob")  # the first acknowledgement stands
    row = all_events(database)[1]
    assert (row.acknowledged_by, aware(row.acknowledged_at)) == ("alice", acknowledged)

    # An open event: acknowledged now, and still so once it ends (the batch does not undo it).
    await service.acknowledge(2, "bob")
    assert all_events(database)[2].acknowledged_by == "bob"
    service.observe(Observation("back", "motion", "end", t0 + 2, 0.5))
    await service.flush()
    row = all_events(database)[2]
    assert (row.acknowledged_by, aware(row.end)) == ("bob", at(t0 + 2))
    assert row.acknowledged_at is not None

    await service.acknowledge(999, "alice")  # unknown ids are ignored
    assert set(all_events(database)) == {1, 2}
