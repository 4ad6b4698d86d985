"""Password policy and hashing (Argon2id)."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import argon2.low_level
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

COMMON_PASSWORDS = Path(__file__).resolve().parent / "common-passwords.txt"
MAX_LENGTH = 256  # Argon2 copes with anything; this only bounds the work per request

# argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile (64 MiB, t=3).
_hasher = PasswordHasher()


class WeakPassword(ValueError):
    """The password breaks the policy; the message says which rule."""


@cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def check_policy(password: str, username: str, min_length: int) -> None:
    if len(password) < min_length:
        raise WeakPassword(f"the password must have at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in _common() or lowered.rstrip("!0123456789") in _common():
        raise WeakPassword("this password is on the list of common passwords")
    if username and username.lower() in lowered:
        raise WeakPassword("the password must not contain the user name")
    if len(set(password)) < 4:
        raise WeakPassword("the password needs more than three different characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    """A well-formed hash with our hasher's parameters that no password matches.

    Verifying against it when the user does not exist keeps the timing of a failed login
    the same whether or not the name is known: a check costs what the parameters in the
    string say (64 MiB, t=3), whatever the salt and digest. Written out rather than
    computed, so importing this module does not cost a hash (it took the process 64 MiB
    higher for a moment at every start).
    """

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii").rstrip("=")

    h = _hasher
    params = f"m={h.memory_cost},t={h.time_cost},p={h.parallelism}"
    salt, digest = b64(b"\x5a" * h.salt_len), b64(b"\x00" * h.hash_len)
    return f"$argon2id$v={argon2.low_level.ARGON2_VERSION}${params}${salt}${digest}"


DUMMY_HASH = _dummy_hash()


PASSWORD_WORKERS = 2  # at most 2 x 64 MiB of Argon2 memory at once, whatever the load


class PasswordPool:
    """Argon2 work in its own small pool of threads.

    A hash takes 64 MiB and tens of milliseconds on a PC (about half a second on a Pi). In
    the default pool, shared with every database call, a burst of logins held every worker
    and stalled all requests, and each concurrent hash added 64 MiB; here they queue among
    themselves and the rest of the server does not notice.
    """

    def __init__(self, workers: int = PASSWORD_WORKERS) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _hash, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _verify, stored_hash, password)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


# Looked up at call time, so a test can stand in for the slow hash.
def _hash(password: str) -> str:
    return hash_password(password)


def _verify(stored_hash: str, password: str) -> bool:
    return verify_password(stored_hash, password)
