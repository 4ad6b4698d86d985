"""HTTP-level errors, and the one place where domain errors become HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from camera.errors import BadOffer, CameraOffline, UnknownCamera, ViewerLimitReached
from camera.redact import redact


class UnsupportedMediaType(Exception):
    pass


class PayloadTooLarge(Exception):
    pass


class NotFound(LookupError):
    pass


STATUS: list[tuple[type[Exception], int, dict[str, str]]] = [
    (UnknownCamera, 404, {}),
    (NotFound, 404, {}),
    (BadOffer, 400, {}),
    (UnsupportedMediaType, 415, {}),
    (PayloadTooLarge, 413, {}),
    (ViewerLimitReached, 503, {"Retry-After": "10"}),
    (CameraOffline, 503, {"Retry-After": "5"}),
]


def install_error_handlers(app: FastAPI) -> None:
    for exc_type, status, headers in STATUS:

        async def handler(
            request: Request,
            exc: Exception,
            status: int = status,
            headers: dict[str, str] = headers,
        ) -> JSONResponse:
            return JSONResponse({"detail": redact(str(exc))}, status_code=status, headers=headers)

        app.add_exception_handler(exc_type, handler)
