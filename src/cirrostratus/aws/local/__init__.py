"""`--aws local`: moto on a loopback port with the project's resources, for task code that
calls AWS itself (Cirrus's builtins, cirrus-lib, boto3). See docs/local-aws.md.

boto3 and moto are imported only when a local AWS starts: importing this package is free.
"""

from __future__ import annotations

from cirrostratus.aws.local.config import AWS_MODES, AwsConfigError, chosen_aws

__all__ = ["AWS_MODES", "AwsConfigError", "chosen_aws", "start_local_aws"]


def start_local_aws(project: object, locations: object) -> object:
    """Start a `LocalAws` for `project` (see session.py); returns it, started."""
    from cirrostratus.aws.local.session import LocalAws

    local = LocalAws(project, locations)  # type: ignore[arg-type]
    local.start()
    return local
