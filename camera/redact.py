"""Keep credentials out of logs, API answers and error pages."""

from __future__ import annotations

import logging
import re

# user:password@ in any URL-ish string, and password-like query parameters.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:password|passwd|pwd|pass|token|auth|key|secret)=)[^&\s]+", re.IGNORECASE
)


def redact(text: str) -> str:
    """Replace URL credentials and secret query parameters with ``***``."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    return _QUERY_SECRET.sub(r"\g<key>***", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions from FFmpeg echo the URL they failed on.
            exc = record.exc_info[1]
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            del exc
        return True
