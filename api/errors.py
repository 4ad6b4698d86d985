"""HTTP-level errors, and the one place where domain errors become HTTP statuses."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from camera.controls import ControlError
from camera.errors import BadOffer, CameraOffline, NotAWebcam, UnknownCamera, ViewerLimitReached
from camera.redact import redact
from camera.v4l2 import DeviceUnavailable

from .accounts import LastAdmin, NoSuchToken, NoSuchUser, UserExists
from .config_layers import redacted
from .config_store import FieldError
from .passwords import WeakPassword

logger = logging.getLogger(__name__)


class HTTPProblem(Exception):
    """An error with a status of its own."""

    status = 400

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def extra(self) -> dict[str, Any]:
        """More members of the JSON answer, beside ``detail``."""
        return {}


class Unauthorized(HTTPProblem):
    status = 401


class Forbidden(HTTPProblem):
    status = 403


class NotFound(HTTPProblem):
    status = 404


class Conflict(HTTPProblem):
    status = 409


class PreconditionFailed(HTTPProblem):
    """If-Match named a version that is not the current one any more."""

    status = 412


class PayloadTooLarge(HTTPProblem):
    status = 413


class UnsupportedMediaType(HTTPProblem):
    status = 415


class Unprocessable(HTTPProblem):
    """Settings that do not validate: every bad field, with what is allowed."""

    status = 422

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    def extra(self) -> dict[str, Any]:
        return {
            "errors": [
                {"field": e.field, "message": e.message, "value": e.value} for e in self.errors
            ]
        }


class TooManyRequests(HTTPProblem):
    status = 429


STATUS: list[tuple[type[Exception], int, dict[str, str]]] = [
    (UnknownCamera, 404, {}),
    (NoSuchUser, 404, {}),
    (NoSuchToken, 404, {}),
    (BadOffer, 400, {}),
    (WeakPassword, 400, {}),
    (UserExists, 409, {}),
    (LastAdmin, 409, {}),
    (NotAWebcam, 409, {}),
    (ControlError, 400, {}),
    (DeviceUnavailable, 503, {"Retry-After": "5"}),
    (ViewerLimitReached, 503, {"Retry-After": "10"}),
    (CameraOffline, 503, {"Retry-After": "5"}),
]


def _json(detail: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": redact(detail)}, status_code=status, headers=headers)


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


async def problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPProblem)
    if isinstance(exc, Unauthorized) and _wants_html(request):
        # A browser opening a page: send it to the login page, coming back here after.
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="sentrycam"'
    extra = exc.extra()
    if extra:
        body = {"detail": redact(str(exc)), **redacted(extra)}
        return JSONResponse(body, status_code=exc.status, headers=headers)
    return _json(str(exc), exc.status, headers)


async def unexpected_handler(request: Request, exc: Exception) -> Response:
    # Never a traceback or a secret in an answer; the log has the details (redacted).
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return _json("internal error; see the server log", 500)


async def database_away_handler(request: Request, exc: Exception) -> Response:
    # PostgreSQL stopped or unreachable (or SQLite's file locked for too long): not the
    # client's fault, and not a crash. Events wait in memory meanwhile (/api/health).
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return _json("the database is unavailable; try again shortly", 503, {"Retry-After": "5"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPProblem, problem_handler)
    app.add_exception_handler(Exception, unexpected_handler)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, database_away_handler)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, database_away_handler)
    for exc_type, status, headers in STATUS:

        async def handler(
            request: Request,
            exc: Exception,
            status: int = status,
            headers: dict[str, str] = headers,
        ) -> JSONResponse:
            return _json(str(exc), status, headers)

        app.add_exception_handler(exc_type, handler)
