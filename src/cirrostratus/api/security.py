"""Who may write, where the server may listen, and which payload ids a URL may name.

Reads are open (as Cirrus's API is); writes (submit, rerun) need the bearer token. A server
on a non-loopback address must be given its token (CIRRO_API_TOKEN): a token generated at
start and printed to one terminal is fine on 127.0.0.1, not on a network.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket

TOKEN_ENV = "CIRRO_API_TOKEN"
#: Largest request body accepted (bytes): a batch of payloads, not a data upload.
DEFAULT_MAX_BODY = 10 * 1024 * 1024


class ApiRefused(Exception):
    """The server cannot start as asked; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    """True when `host` only ever reaches this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def resolve_token(host: str, environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """The token write routes need, and whether it was generated here (print it then).

    Refuses (ApiRefused) to listen beyond loopback without CIRRO_API_TOKEN set.
    """
    env = os.environ if environ is None else environ
    given = env.get(TOKEN_ENV, "").strip()
    if given:
        return given, False
    if not is_loopback(host):
        raise ApiRefused(
            f"--host {host} listens beyond this machine, so write routes need a token you "
            f"chose: set {TOKEN_ENV} (e.g. `export {TOKEN_ENV}=$(openssl rand -hex 24)`) "
            "or listen on 127.0.0.1"
        )
    return secrets.token_urlsafe(24), True


def token_matches(header: str | None, token: str) -> bool:
    """A constant-time check of an `Authorization: Bearer <token>` header."""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def payload_id_problem(path: str) -> str | None:
    """Why `path` cannot name a payload (a path trick), or None when it may.

    Payload ids become object keys in the payload store; `..`, `.`, empty segments,
    backslashes and control characters are refused before any store sees them.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "control characters are not allowed in a payload id"
    if "\\" in path:
        return "backslashes are not allowed in a payload id"
    if path.startswith("/") or path.endswith("/") or "//" in path:
        return "empty path segments are not allowed in a payload id"
    if any(part in (".", "..") for part in path.split("/")):
        return "'.' and '..' segments are not allowed in a payload id"
    return None
