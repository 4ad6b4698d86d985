"""Users, browser sessions, API tokens and the audit log, on top of the database.

Every method is synchronous and takes an SQLAlchemy ``Session``: the routes run them through
``Database.run`` (a worker thread), the CLI calls them directly. Secrets are stored only as
hashes: Argon2id for passwords, SHA-256 for session cookies and API tokens (both are 256-bit
random values, so a fast hash is enough and keeps every request cheap).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .db import aware
from .models import ApiToken, AuditEntry, LoginSession, User
from .passwords import DUMMY_HASH, check_policy, hash_password, verify_password

Role = Literal["admin", "viewer"]
TOKEN_PREFIX = "sc_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
TOUCH_INTERVAL = timedelta(minutes=5)  # last-seen writes are coarse: SD cards wear out


class Keep:
    """Sentinel: leave this field as it is."""


KEEP = Keep()


class AccountError(Exception):
    """Base of account problems; messages are safe to show to the caller."""


class UserExists(AccountError):
    pass


class NoSuchUser(AccountError):
    pass


class NoSuchToken(AccountError):
    pass


class LastAdmin(AccountError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, through a browser session or an API token."""

    user_id: int
    name: str
    role: Role
    cameras: frozenset[str] | None  # None: every camera
    via: Literal["session", "token", "cli"]
    session_hash: str | None = None
    csrf_token: str | None = None
    token_id: int | None = None
    expires_at: datetime | None = None  # when the session or token ends at the latest

    @property
    def credential(self) -> str | None:
        """What revoking ends: ``session:<hash>`` or ``token:<id>`` (None for the CLI)."""
        if self.session_hash is not None:
            return session_credential(self.session_hash)
        if self.token_id is not None:
            return token_credential(self.token_id)
        return None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see(self, camera_id: str) -> bool:
        return self.is_admin or self.cameras is None or camera_id in self.cameras


def now() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _principal(user: User, via: Literal["session", "token"], **extra: Any) -> Principal:
    cameras = None if user.cameras is None else frozenset(user.cameras)
    role: Role = "admin" if user.role == "admin" else "viewer"
    return Principal(user.id, user.name, role, cameras, via, **extra)


def session_credential(session_hash: str) -> str:
    return f"session:{session_hash}"


def token_credential(token_id: int) -> str:
    return f"token:{token_id}"


class Accounts:
    def __init__(
        self, min_password_length: int = 10, session_days: float = 30, session_idle_days: float = 7
    ) -> None:
        self.min_password_length = min_password_length
        self.session_lifetime = timedelta(days=session_days)
        self.session_idle = timedelta(days=session_idle_days)

    # ----- users -------------------------------------------------------------------------

    def user_count(self, db: Session) -> int:
        return db.scalar(select(func.count()).select_from(User)) or 0

    def get_user(self, db: Session, name: str) -> User:
        user = db.scalar(select(User).where(User.name == name))
        if user is None:
            raise NoSuchUser(f"no user named {name!r}")
        return user

    def list_users(self, db: Session) -> list[User]:
        return list(db.scalars(select(User).order_by(User.name)))

    def check_password(self, name: str, password: str) -> None:
        """Raise ``WeakPassword`` if ``password`` breaks the policy (cheap: before hashing)."""
        check_policy(password, name, self.min_password_length)

    def create_user(
        self,
        db: Session,
        name: str,
        password: str,
        role: Role,
        cameras: list[str] | None,
        password_hash: str | None = None,
    ) -> User:
        """A new user; ``password_hash`` if the caller hashed it already (off this thread)."""
        if db.scalar(select(User).where(User.name == name)) is not None:
            raise UserExists(f"a user named {name!r} exists already")
        check_policy(password, name, self.min_password_length)
        stamp = now()
        user = User(
            name=name,
            password_hash=password_hash or hash_password(password),
            role=role,
            cameras=None if role == "admin" else cameras,
            created_at=stamp,
            password_changed_at=stamp,
        )
        db.add(user)
        db.flush()
        return user

    def set_password(
        self, db: Session, name: str, password: str, password_hash: str | None = None
    ) -> User:
        """Change a password; every session and nothing else of that user ends."""
        user = self.get_user(db, name)
        check_policy(password, name, self.min_password_length)
        user.password_hash = password_hash or hash_password(password)
        user.password_changed_at = now()
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        return user

    def update_user(
        self, db: Session, name: str, role: Role | None, cameras: list[str] | Keep | None = KEEP
    ) -> User:
        user = self.get_user(db, name)
        if role is not None and role != user.role:
            if user.role == "admin":
                self._keep_an_admin(db, user)
            user.role = role
        if not isinstance(cameras, Keep):
            user.cameras = cameras
        if user.role == "admin":
            user.cameras = None
        return user

    def remove_user(self, db: Session, name: str) -> User:
        user = self.get_user(db, name)
        if user.role == "admin":
            self._keep_an_admin(db, user)
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        db.delete(user)
        return user

    def _keep_an_admin(self, db: Session, user: User) -> None:
        admins = db.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
        if (admins or 0) <= 1:
            raise LastAdmin(f"{user.name} is the last admin; make another admin first")

    def login_hash(self, db: Session, name: str) -> tuple[User | None, str]:
        """The user and the hash to check a password against (a dummy one for an unknown
        name, so a failed login costs the same whether or not the name exists)."""
        user = db.scalar(select(User).where(User.name == name))
        return user, user.password_hash if user is not None else DUMMY_HASH

    def verify_login(self, db: Session, name: str, password: str) -> User | None:
        user = db.scalar(select(User).where(User.name == name))
        if user is None:
            verify_password(DUMMY_HASH, password)  # same cost as a real check
            return None
        return user if verify_password(user.password_hash, password) else None

    # ----- browser sessions --------------------------------------------------------------

    def create_session(self, db: Session, user: User, client: str, user_agent: str) -> str:
        """A new session for ``user``; returns the cookie value (shown nowhere else)."""
        cookie = secrets.token_urlsafe(32)
        stamp = now()
        db.add(
            LoginSession(
                id_hash=digest(cookie),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=stamp,
                last_seen_at=stamp,
                expires_at=stamp + self.session_lifetime,
                client=client[:64],
                user_agent=user_agent[:256],
            )
        )
        return cookie

    def resolve_session(self, db: Session, cookie: str) -> Principal | None:
        row = db.get(LoginSession, digest(cookie))
        if row is None:
            return None
        stamp = now()
        if aware(row.expires_at) <= stamp or aware(row.last_seen_at) + self.session_idle <= stamp:
            db.delete(row)
            return None
        if stamp - aware(row.last_seen_at) > TOUCH_INTERVAL:
            row.last_seen_at = stamp
        user = db.get(User, row.user_id)
        if user is None:  # pragma: no cover - the foreign key cascades
            return None
        return _principal(
            user,
            "session",
            session_hash=row.id_hash,
            csrf_token=row.csrf_token,
            expires_at=aware(row.expires_at),
        )

    def still_valid(self, db: Session, credentials: set[str]) -> set[str]:
        """Which of ``credentials`` (see ``Principal.credential``) may still be used."""
        stamp = now()
        sessions = {c.partition(":")[2] for c in credentials if c.startswith("session:")}
        tokens = {int(c.partition(":")[2]) for c in credentials if c.startswith("token:")}
        valid: set[str] = set()
        if sessions:
            for row in db.scalars(select(LoginSession).where(LoginSession.id_hash.in_(sessions))):
                if aware(row.expires_at) > stamp:
                    valid.add(session_credential(row.id_hash))
        if tokens:
            for token in db.scalars(select(ApiToken).where(ApiToken.id.in_(tokens))):
                alive = token.expires_at is None or aware(token.expires_at) > stamp
                if token.revoked_at is None and alive:
                    valid.add(token_credential(token.id))
        return valid

    def end_session(self, db: Session, session_hash: str) -> None:
        db.execute(delete(LoginSession).where(LoginSession.id_hash == session_hash))

    def user_session_hashes(self, db: Session, user_id: int) -> list[str]:
        rows = db.scalars(select(LoginSession.id_hash).where(LoginSession.user_id == user_id))
        return list(rows)

    # ----- API tokens --------------------------------------------------------------------

    def create_token(
        self, db: Session, user: User, name: str, expires_at: datetime | None
    ) -> tuple[str, ApiToken]:
        """A new API token; the plain value is returned once and stored only as a hash."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            name=name,
            user_id=user.id,
            token_hash=digest(plain),
            prefix=plain[:10],
            created_at=now(),
            expires_at=expires_at,
        )
        db.add(token)
        db.flush()
        return plain, token

    def resolve_token(self, db: Session, plain: str) -> Principal | None:
        if not plain.startswith(TOKEN_PREFIX):
            return None
        token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(plain)))
        if token is None or token.revoked_at is not None:
            return None
        stamp = now()
        if token.expires_at is not None and aware(token.expires_at) <= stamp:
            return None
        if token.last_used_at is None or stamp - aware(token.last_used_at) > TOUCH_INTERVAL:
            token.last_used_at = stamp
        user = db.get(User, token.user_id)
        if user is None:
            return None
        expires = aware(token.expires_at) if token.expires_at is not None else None
        return _principal(user, "token", token_id=token.id, expires_at=expires)

    def list_tokens(self, db: Session, user_id: int | None = None) -> list[tuple[ApiToken, str]]:
        query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
        if user_id is not None:
            query = query.where(ApiToken.user_id == user_id)
        return [(token, name) for token, name in db.execute(query.order_by(ApiToken.id))]

    def revoke_token(self, db: Session, token_id: int, user_id: int | None = None) -> ApiToken:
        token = db.get(ApiToken, token_id)
        if token is None or (user_id is not None and token.user_id != user_id):
            raise NoSuchToken(f"no token with id {token_id}")
        if token.revoked_at is None:
            token.revoked_at = now()
        return token

    # ----- audit log ---------------------------------------------------------------------

    def audit(
        self,
        db: Session,
        actor: str,
        action: str,
        target: str = "",
        client: str = "",
        ok: bool = True,
        detail: str = "",
    ) -> None:
        db.add(
            AuditEntry(
                at=now(),
                actor=actor[:64],
                action=action[:32],
                target=target[:128],
                client=client[:64],
                ok=ok,
                detail=detail,
            )
        )

    def audit_entries(
        self, db: Session, limit: int, before_id: int | None = None
    ) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        return list(db.scalars(query))

    def prune_sessions(self, db: Session) -> int:
        stamp = now()
        result = db.execute(delete(LoginSession).where(LoginSession.expires_at <= stamp))
        return int(getattr(result, "rowcount", 0) or 0)
