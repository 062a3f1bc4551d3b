"""Making boto3 clients for the AWS backends, lazily and the same way everywhere.

boto3 is imported only when a client is first needed, so `cirro --help` and every local
command never load it. `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_<SERVICE>`)
are honoured by boto3 itself; `endpoint_url` overrides them (moto's server in tests).
"""

from __future__ import annotations

from typing import Any


def make_client(
    service: str,
    *,
    client: Any = None,
    session: Any = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Any:
    """`client` if given, else one from `session` (or a new boto3 Session)."""
    if client is not None:
        return client
    if session is None:
        import boto3

        session = boto3.session.Session()
    kwargs: dict[str, Any] = {}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    if region:
        kwargs["region_name"] = region
    return session.client(service, **kwargs)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (`""` for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
