"""From Serverless-flavoured values to plain CloudFormation.

Two rewrites, applied to everything that goes into the template:
- Serverless variables (`${self:service}`, `${self:provider.stage}`, `${opt:stage, 'dev'}`,
  `${env:X}`) are resolved against cirrus.yml with the build's stage and region standing in for
  the command-line options. A value that is exactly one variable takes the variable's value
  (a list, a `!Ref`); a variable inside a longer string is interpolated as text.
- Cirrus's `#{X}` (`#{AWS::Region}`, `#{MyJobQueue}`) becomes `${X}` inside `Fn::Sub`, as
  Cirrus and serverless-pseudo-parameters do; a literal `${` in such a string is escaped.

The single-variable resolution is project/variables.py's; this module only adds the
interpolation and the option overrides.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from cirrostratus.project import variables

_SLS_VARIABLE = re.compile(r"\$\{\s*(?:self|opt|env|sls):[^{}]*\}")
_HASH = re.compile(r"#\{([A-Za-z0-9:._-]+)\}")


class Resolver:
    """Resolves serverless variables for one stage and region."""

    def __init__(self, config: Mapping[str, Any], *, stage: str, region: str) -> None:
        self.stage = stage
        self.region = region
        config = dict(copy.deepcopy(dict(config)))
        provider = config.get("provider")
        provider = dict(provider) if isinstance(provider, Mapping) else {}
        provider["stage"] = stage
        provider["region"] = region
        config["provider"] = provider
        self.config = config

    def variable(self, text: str) -> Any:
        """One `${...}` variable's value (`opt:` takes stage/region, then its default)."""
        inner = text.strip()[2:-1].strip()
        if inner.startswith("opt:stage"):
            return self.stage
        if inner.startswith("opt:region"):
            return self.region
        if inner.startswith("sls:stage"):
            return self.stage
        return variables.resolve(text, self.config)

    def value(self, value: Any) -> Any:
        """`value` with every serverless variable resolved, recursively."""
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        for _ in range(10):  # a variable may resolve to another one
            match = _SLS_VARIABLE.fullmatch(value.strip())
            if match is not None:
                resolved = self.variable(value)
                if resolved == value:
                    return value
                if not isinstance(value, str) or not isinstance(resolved, str):
                    return self.value(resolved)
                value = resolved
                continue
            new = _SLS_VARIABLE.sub(lambda m: self._text(m.group(0)), value)
            if new == value:
                return value
            value = new
        return value

    def _text(self, variable: str) -> str:
        resolved = self.variable(variable)
        return str(resolved) if isinstance(resolved, str | int | float) else variable


def unresolved(value: Any) -> list[str]:
    """Serverless variables still left in `value` (reported as build errors)."""
    found: list[str] = []
    if isinstance(value, dict):
        for item in value.values():
            found += unresolved(item)
    elif isinstance(value, list):
        for item in value:
            found += unresolved(item)
    elif isinstance(value, str):
        found += _SLS_VARIABLE.findall(value)
    return found


def hash_to_sub(value: Any, *, in_sub: bool = False) -> Any:
    """Every string holding `#{X}` as `{"Fn::Sub": "...${X}..."}` (inside Fn::Sub: just rewritten)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "Fn::Sub":
                if isinstance(item, str):
                    out[key] = _HASH.sub(r"${\1}", item)
                elif isinstance(item, list) and item and isinstance(item[0], str):
                    out[key] = [_HASH.sub(r"${\1}", item[0]), *[hash_to_sub(x) for x in item[1:]]]
                else:
                    out[key] = hash_to_sub(item)
            else:
                out[key] = hash_to_sub(item)
        return out
    if isinstance(value, list):
        return [hash_to_sub(v) for v in value]
    if isinstance(value, str) and _HASH.search(value):
        escaped = value.replace("${", "${!")
        return {"Fn::Sub": _HASH.sub(r"${\1}", escaped)}
    return value
