"""The server's VAPID key pair (RFC 8292): made on first start, kept in the data dir."""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

logger = logging.getLogger(__name__)

KEY_FILE = "vapid_private.pem"


def load_or_create(data_dir: Path) -> Vapid02:
    """The key in ``data_dir/vapid_private.pem``; a new one (mode 0600) when there is none."""
    path = data_dir / KEY_FILE
    if path.exists():
        return Vapid02.from_file(str(path))
    vapid = Vapid02()
    vapid.generate_keys()
    # O_EXCL: two servers starting on one data dir never overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(vapid.private_pem())
    logger.info("created the Web Push (VAPID) key %s", path)
    return vapid


def public_key(vapid: Vapid02) -> str:
    """The public key as browsers want it for ``applicationServerKey``: the uncompressed
    P-256 point, base64url without padding."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
