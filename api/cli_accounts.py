"""``sentrycam user ...`` and ``sentrycam token ...``: accounts from a shell.

They work on the database directly (the server need not run). Passwords come from
standard input when it is not a terminal (one line), else from a prompt, never from the
command line where other users could read them in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from .accounts import AccountError, Accounts, Role
from .db import Database, database_url
from .passwords import WeakPassword
from .settings import load_config


class CommandError(Exception):
    pass


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", parents=[common], help="create a user (password from stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=["admin", "viewer"], default="viewer")
    add.add_argument("--cameras", help="comma-separated camera ids a viewer may see (default all)")
    passwd = user.add_parser("passwd", parents=[common], help="set a user's password")
    passwd.add_argument("name")
    user.add_parser("list", parents=[common], help="list users")
    remove = user.add_parser("remove", parents=[common], help="remove a user")
    remove.add_argument("name")

    token = commands.add_parser("token", help="manage API tokens").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", parents=[common], help="create a token (printed once)")
    create.add_argument("name")
    create.add_argument("--user", required=True)
    create.add_argument("--expires", default="never", help="30d, 12h, 2027-01-31 or never")
    token.add_parser("list", parents=[common], help="list tokens")
    revoke = token.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("id", type=int)


def parse_expiry(text: str, now: datetime) -> datetime | None:
    if text == "never":
        return None
    if match := re.fullmatch(r"(\d+)([dh])", text):
        amount = int(match.group(1))
        return now + (timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount))
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--expires: {text!r} is not 30d, 12h, YYYY-MM-DD or never") from None


def read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CommandError("no password on standard input")
        return line
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise CommandError("the passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_config(args.config).settings
        args.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        database = Database(database_url(settings.database.url, args.data_dir))
        database.migrate()
        security = settings.security
        accounts = Accounts(security.min_password_length, security.session_days)
        handler = HANDLERS[(args.command, args.action)]
        database.call(lambda db: handler(db, accounts, args))
    except (CommandError, AccountError, WeakPassword) as error:
        print(f"sentrycam: {error}", file=sys.stderr)
        return 1
    return 0


def _user_add(db: Session, accounts: Accounts, args: argparse.Namespace) -> None:
    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()] if args.cameras else None
    role: Role = args.role
    accounts.create_user(db, args.name, read_password(), role, cameras)
    accounts.audit(db, "cli", "user_added", args.name, "cli", detail=f"role={role}")
    print(f"user {args.name} added ({role})")


def _user_passwd(db: Session, accounts: Accounts, args: argparse.Namespace) -> None:
    accounts.set_password(db, args.name, read_password())
    accounts.audit(db, "cli", "password_set", args.name, "cli")
    print(f"password of {args.name} changed; their sessions have ended")


def _user_list(db: Session, accounts: Accounts, args: argparse.Namespace) -> None:
    for user in accounts.list_users(db):
        cameras = "all cameras" if user.cameras is None else ",".join(user.cameras)
        print(f"{user.name}\t{user.role}\t{cameras}")


def _user_remove(db: Session, accounts: Accounts, args: argparse.Namespace) -> None:
    accounts.remove_user(db, args.name)
    accounts.audit(db, "cli", "user_removed", args.name, "cli")
    print(f"user {args.name} removed, with their sessions and tokens")


def _token_create(db: Session, accounts: Accounts, args: argparse.Namespace) -> None:
    expires = parse_expiry(args.expires, datetime.now(UTC))
    user = accounts.get_user(db, args.user)
    plain, token = accounts.create_token(db, user, args.name, expires)
    accounts.audit(
        db, "cli", "token_created", f"{args.user}/{args.name}", "cli", detail=f"id={token.id}"
    )
    print(plain)
    when = expires.isoformat() if expires else "never"
    print(
        f"token {token.id} for {args.user}, expires {when}; it is not shown again", file=sys.stderr
    )


def _token_list(db: Session, accounts: Accounts, args: argparse.Namespace) -> None:
    for token, user in accounts.list_tokens(db):
        state = "revoked" if token.revoked_at else "active"
        expires = token.expires_at.isoformat() if token.expires_at else "never"
        print(f"{token.id}\t{user}\t{token.name}\t{token.prefix}...\t{state}\texpires {expires}")


def _token_revoke(db: Session, accounts: Accounts, args: argparse.Namespace) -> None:
    token = accounts.revoke_token(db, args.id)
    accounts.audit(db, "cli", "token_revoked", token.name, "cli", detail=f"id={args.id}")
    print(f"token {args.id} revoked")


Handler = Callable[[Session, Accounts, argparse.Namespace], None]
HANDLERS: dict[tuple[str, str], Handler] = {
    ("user", "add"): _user_add,
    ("user", "passwd"): _user_passwd,
    ("user", "list"): _user_list,
    ("user", "remove"): _user_remove,
    ("token", "create"): _token_create,
    ("token", "list"): _token_list,
    ("token", "revoke"): _token_revoke,
}
