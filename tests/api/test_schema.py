"""schemathesis against /openapi.json: every documented operation, a few generated cases
each, answers as its schema says (no 500s, documented status codes and shapes).

The event stream is left out (it stays open by design); write routes run with the token.
"""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from .conftest import AUTH, client_for, make_payload, new_project, run  # noqa: E402

_state: dict[str, Any] = {}


def _app() -> Any:
    if "app" not in _state:
        import tempfile
        from pathlib import Path

        root = new_project(Path(tempfile.mkdtemp(prefix="cirro-schema-")) / "project")
        run(root, [make_payload("crash", "c1"), make_payload("mirror", "m1")])
        client, backend = client_for(root)
        _state.update(app=client.app, backend=backend)
    return _state["app"]


schema = schemathesis.openapi.from_asgi("/openapi.json", _app()).exclude(path="/events")


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    response = case.call(headers=AUTH)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
