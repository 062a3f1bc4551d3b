"""Where the server may listen and with which token."""

from __future__ import annotations

import socket

import pytest

from cirrostratus.api.security import (
    ApiRefused,
    is_loopback,
    payload_id_problem,
    resolve_token,
    token_matches,
)


def test_loopback_gets_a_generated_token() -> None:
    token, generated = resolve_token("127.0.0.1", {})
    assert generated and len(token) >= 24
    assert resolve_token("127.0.0.1", {"CIRRO_API_TOKEN": "mine"}) == ("mine", False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_beyond_loopback_needs_a_chosen_token(host: str) -> None:
    with pytest.raises(ApiRefused, match="CIRRO_API_TOKEN"):
        resolve_token(host, {})
    assert resolve_token(host, {"CIRRO_API_TOKEN": "s3cret"}) == ("s3cret", False)


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_bearer_check() -> None:
    assert token_matches("Bearer abc", "abc") and token_matches("bearer abc", "abc")
    for header in (None, "", "abc", "Basic abc", "Bearer abd", "Bearer "):
        assert not token_matches(header, "abc")


def test_payload_id_rules() -> None:
    assert payload_id_problem("c/workflow-w/a/b") is None
    for bad in ("c/workflow-w/../x", "c/workflow-w/./x", "/c/workflow-w/x", "c//workflow-w"):
        assert payload_id_problem(bad) is not None


def test_a_port_in_use_is_named() -> None:
    from cirrostratus.api.server import bind

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ApiRefused, match=f"port {port} on 127.0.0.1 is in use"):
            bind("127.0.0.1", port)
    finally:
        taken.close()
