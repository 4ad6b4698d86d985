"""A real, throwaway PostgreSQL server for the storage tests (Debian's binaries).

``postgres_url`` starts one server per test session on a free loopback port, in a temporary
directory, with trust authentication (nothing listens beyond 127.0.0.1 and the socket
directory is private), and stops it afterwards. :func:`fresh_schema` (cheap) or
:func:`fresh_database` gives a test its own empty namespace, so tests never see each other's
rows.

A test module uses it by importing the fixture: ``from tests.postgres import postgres_url``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from tests.waiting import WaitTimeout, wait_until_blocking

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "sentrycam"
DATABASE = "sentrycam"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
SERVER_USER = "postgres"  # the system user Debian's postgresql package creates


class PostgresUnavailable(RuntimeError):
    pass


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)


def find_bin_dir() -> Path:
    """The bin directory of the highest PostgreSQL version installed (Debian layout)."""
    candidates = [
        bin_dir
        for bin_dir in (version / "bin" for version in PG_ROOT.glob("*"))
        if (bin_dir / "initdb").is_file() and (bin_dir / "postgres").is_file()
    ]
    if not candidates:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries under {PG_ROOT}/*/bin (initdb, postgres); "
            "the storage tests need a real server: apt-get install postgresql "
            "(tests/run.sh installs it)"
        )
    return max(candidates, key=lambda bin_dir: _version_key(bin_dir.parent))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="sentrycam-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            # postgres refuses to run as root: run it as Debian's "postgres" system user.
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root and there is no {SERVER_USER!r} system user to run "
                    "PostgreSQL as; apt-get install postgresql creates it"
                ) from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
            runuser = shutil.which("runuser")
            if runuser is not None:
                self._as_user = [runuser, "-u", SERVER_USER, "--"]
            else:  # pragma: no cover - util-linux ships runuser on Debian
                self._as_user = ["setpriv", f"--reuid={account.pw_uid}"]
                self._as_user += [f"--regid={account.pw_gid}", "--init-groups", "--"]

    def _command(self, program: str, *args: str) -> list[str]:
        return [*self._as_user, str(self.bin_dir / program), *args]

    def _run(self, program: str, *args: str, timeout: float = 60.0) -> None:
        result = subprocess.run(
            self._command(program, *args),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise PostgresUnavailable(f"{program} {' '.join(args)} failed:\n{output}")

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def start(self) -> None:
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        # A free port can be taken between choosing it and binding it: try a few.
        for _attempt in range(5):
            self.port = _free_port()
            if self._launch():
                return
        raise PostgresUnavailable(f"PostgreSQL did not start; log:\n{self._log_text()}")

    def restart(self) -> None:
        """Start the stopped cluster again on the same port (a database coming back)."""
        if not self._launch():
            raise PostgresUnavailable(f"PostgreSQL did not start again; log:\n{self._log_text()}")

    def _launch(self) -> bool:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "fsync": "off",  # a throwaway cluster: durability is not under test here
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        log = self.log.open("wb")  # one attempt's log
        try:
            self.process = process = subprocess.Popen(
                self._command("postgres", "-D", str(self.data), *options),
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()

        def settled() -> str | None:
            """Whether postgres has "exited" or is "accepting" connections (None: starting)."""
            if process.poll() is not None:
                return "exited"
            try:
                with psycopg.connect(self._conninfo(), connect_timeout=2):
                    return "accepting"
            except psycopg.OperationalError:
                return None

        try:
            outcome = wait_until_blocking(settled, START_TIMEOUT_S, "postgres", interval=0.05)
        except WaitTimeout:
            self.stop()
            raise PostgresUnavailable(
                f"PostgreSQL did not accept connections within {START_TIMEOUT_S}s; "
                f"log:\n{self._log_text()}"
            ) from None
        if outcome == "accepting":
            return True
        if "could not bind" in self._log_text():
            return False  # port race: try another
        raise PostgresUnavailable(
            f"postgres exited with {process.returncode}; log:\n{self._log_text()}"
        )

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def create_database(self, name: str) -> str:
        with psycopg.connect(self._conninfo(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg://…`` of an empty database on a private, real PostgreSQL server."""
    try:
        server = PostgresServer(find_bin_dir())
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        started = time.monotonic()
        try:
            server.start()
            url = server.create_database(DATABASE)
        except (PostgresUnavailable, psycopg.Error) as error:
            pytest.fail(str(error), pytrace=False)
        elapsed = time.monotonic() - started
        print(f"PostgreSQL {server.bin_dir.parent.name} on port {server.port}: {elapsed:.2f}s")
        yield url
    finally:
        server.stop()
        server.remove()


def _conninfo(url: str) -> str:
    parsed = make_url(url)
    return make_conninfo(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
    )


@contextlib.contextmanager
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A new empty database on the server of ``postgres_url``, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(postgres_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_schema(postgres_url: str) -> Iterator[str]:
    """A new empty schema, first on the search path of the URL returned; dropped afterwards.

    Much cheaper than a database (``CREATE DATABASE`` copies a template, about a second on a
    busy machine) and as separate for everything that uses unqualified table names.
    """
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(postgres_url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
