"""The ``sentrycam`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from camera.errors import ConfigError

from . import gc_pauses
from .config_store import load_layered
from .logs import setup_logging

if TYPE_CHECKING:
    from .services import Services

logger = logging.getLogger("sentrycam")


def default_data_dir() -> Path:
    if env := os.environ.get("SENTRYCAM_DATA_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "sentrycam"


SYSTEM_CONFIG = Path("/etc/sentrycam/config.yaml")


def default_config() -> Path | None:
    """``$SENTRYCAM_CONFIG``, else /etc/sentrycam/config.yaml if it exists, else none."""
    if env := os.environ.get("SENTRYCAM_CONFIG"):
        return Path(env)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def build_parser() -> argparse.ArgumentParser:
    from . import cli_accounts, cli_backup, cli_install

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=default_config(),
        help="YAML config file (env SENTRYCAM_CONFIG, else /etc/sentrycam/config.yaml if "
        "present); without one, webcams are detected, or the demo camera is shown",
    )
    common.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="where data lives (env SENTRYCAM_DATA_DIR; default ~/.local/share/sentrycam)",
    )
    parser = argparse.ArgumentParser(prog="sentrycam", description="Home security cameras.")
    parser.add_argument("--log-level", default=os.environ.get("SENTRYCAM_LOG_LEVEL", "info"))
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", parents=[common], help="run the camera service and web dashboard"
    )
    serve.add_argument("--host", help="listen address (overrides server.host)")
    serve.add_argument("--port", type=int, help="listen port (overrides server.port)")
    cli_accounts.add_parsers(commands, common)
    cli_install.add_parsers(commands)
    cli_backup.add_parsers(commands, common)
    config = commands.add_parser("config", help="the configuration").add_subparsers(
        dest="action", required=True
    )
    config.add_parser(
        "show",
        parents=[common],
        help="print the effective configuration (file + dashboard changes) as YAML, with "
        "where each value comes from",
    )
    return parser


def uvicorn_config(
    app: FastAPI, host: str, port: int, tls: tuple[Path, Path] | None
) -> uvicorn.Config:
    """How Sentrycam runs uvicorn (the tests use the same settings)."""
    from .prepared_frames import PreparedFramesProtocol

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,  # URLs never reach the log (no secrets in query strings either)
        ws_max_size=64 * 1024,
        # No permessage-deflate: live messages are small JSON, and compressing each one
        # once per connection made a fan-out to 1000 dashboards cost 1000 zlib runs.
        ws_per_message_deflate=False,
        # uvicorn's own WebSocket protocol, letting the live channel write a message framed
        # once to every dashboard's socket (api.prepared_frames).
        ws=PreparedFramesProtocol,
        # X-Forwarded-* are believed only from security.trusted_proxies (api.security);
        # uvicorn's own handling would trust any local process.
        proxy_headers=False,
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )


class Server(uvicorn.Server):
    """uvicorn, telling systemd when it listens and when it begins to stop, and moving
    what start-up made out of the garbage collector's sight (``api.gc_pauses``)."""

    def __init__(self, config: uvicorn.Config, services: Services) -> None:
        super().__init__(config)
        self._services = services

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            gc_pauses.watch()
            gc_pauses.freeze_startup()
            self._services.systemd.http_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._services.systemd.stopping()
        await super().shutdown(sockets)


# Worker threads for asyncio.to_thread (database, files, JPEG, health readings). Python's
# default is cores + 4 (8 on a Pi), each with its own stack and malloc arena; a few are
# plenty: the heavy media work has threads of its own.
WORKER_THREADS = 4


async def _serve(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="sentrycam-worker")
    )
    await server.serve()


def serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .sdnotify import Notifier
    from .services import Services
    from .tls import certificate_files

    try:
        loaded = load_layered(args.config, args.data_dir)
    except ConfigError as error:
        print(f"sentrycam: {error}", file=sys.stderr)
        return 2
    if loaded.notice:
        logger.info("%s", loaded.notice)
    for camera in loaded.settings.cameras:
        logger.info(
            "camera %s: %s source, encoder %s", camera.id, camera.source_kind, camera.encoder
        )
    host = args.host or loaded.settings.server.host
    port = args.port or loaded.settings.server.port
    tls = certificate_files(loaded.settings.server.tls, args.data_dir)
    services = Services(loaded, args.data_dir, notifier=Notifier.from_env())
    app = create_app(services)
    config = uvicorn_config(app, host, port, tls)
    server = Server(config, services)
    scheme = "https" if tls else "http"
    logger.info("dashboard on %s://%s:%d/ (data in %s)", scheme, host, port, args.data_dir)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the
    # handler that was there before it; make that one a no-op so a clean stop exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: None)
    asyncio.run(_serve(server))
    logger.info("stopped")
    return 0


def show_config(args: argparse.Namespace) -> int:
    from .config_show import render
    from .config_store import OVERLAY_NAME

    try:
        loaded = load_layered(args.config, args.data_dir)
    except ConfigError as error:
        print(f"sentrycam: {error}", file=sys.stderr)
        return 2
    print(render(loaded, str(args.data_dir / OVERLAY_NAME)), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.command == "serve":
        return serve(args)
    if args.command in ("install", "uninstall"):
        from . import cli_install

        return cli_install.run(args)
    if args.command in ("backup", "restore"):
        from . import cli_backup

        try:
            return cli_backup.run(args)
        except ConfigError as error:
            print(f"sentrycam: {error}", file=sys.stderr)
            return 2
    if args.command == "config":
        return show_config(args)
    from . import cli_accounts

    try:
        return cli_accounts.run(args)
    except ConfigError as error:
        print(f"sentrycam: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
