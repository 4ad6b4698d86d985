"""Keep credentials out of logs, API answers and error pages.

Camera source URLs are where credentials come from (``rtsp://user:password@...``), so the
scrubber lives in the bottom layer; the API uses the same function for database URLs,
error answers and, through ``api.logs.RedactingFilter``, every log record.
"""

from __future__ import annotations

import re

# user:password@ in any URL-ish string. A password may itself contain "@" (cameras accept
# ``rtsp://admin:p@ss@cam``), so the credentials run to the LAST "@" of the word: better to
# hide a little too much of a URL than to leak the end of a password.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s'\"<>]*@")
# Password-like query parameters, also with a prefix (access_token, api_key, X-Amz-Signature).
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;][A-Za-z0-9_.-]*?"
    r"(?:password|passwd|pwd|pass|token|auth|key|secret|signature|credential)=)[^&;#\s'\"]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Replace URL credentials and secret query parameters with ``***``."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    return _QUERY_SECRET.sub(r"\g<key>***", text)
