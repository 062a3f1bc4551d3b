"""Whether a run gets a local AWS: `--aws local|none`, else cirrus.yml's `custom.cirro.aws`."""

from __future__ import annotations

from typing import Any

AWS_MODES = ("local", "none")


class AwsConfigError(ValueError):
    """`custom.cirro.aws` holds something other than `local` or `none`."""


def chosen_aws(project: Any, option: str | None) -> str:
    """The option, else the project's `custom.cirro.aws`, else `none`."""
    if option:
        return option
    config = getattr(project, "config", None) or {}
    custom = config.get("custom") if isinstance(config, dict) else None
    cirro = custom.get("cirro") if isinstance(custom, dict) else None
    value = cirro.get("aws") if isinstance(cirro, dict) else None
    if value is None or value is False:
        return "none"
    if value not in AWS_MODES:
        root = getattr(project, "root", None)
        where = f"{root}/cirrus.yml" if root else "cirrus.yml"
        raise AwsConfigError(
            f"{where}: custom.cirro.aws is {value!r}; use `local` (tasks get moto's AWS, "
            "see docs/local-aws.md) or `none`"
        )
    return str(value)
