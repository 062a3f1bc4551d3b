"""YAML with CloudFormation short tags, loaded as plain data and never executed.

Cirrus reads every definition, `cirrus.yml` and CloudFormation file with cfn-flip's loader,
so `!Ref X`, `!GetAtt a.b` and `!Sub "..."` are common. We turn each tag into the long form
(`{"Ref": "X"}`, `{"Fn::GetAtt": ["a", "b"]}`, `{"Fn::Sub": "..."}`) on a *safe* loader
subclass: nothing is constructed but dicts, lists and scalars. Serverless variables
(`${self:...}`, `${opt:...}`) and `#{AWS::Region}` are ordinary strings and stay as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CfnLoader(_Base):  # type: ignore[valid-type,misc]
    """A safe loader that understands CloudFormation's short-form intrinsic tags."""


class YamlError(ValueError):
    """A YAML file could not be read: the message names the file, line and problem.

    `detail` is the message without the file name (`line 3: invalid YAML (...)`).
    """

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source}: {detail}")
        self.source = source
        self.detail = detail


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(
        None, None, f"unexpected node {node!r}", node.start_mark
    )


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    """`!Name value` → `{"Fn::Name": value}`, with the three CloudFormation exceptions."""
    value = _construct(loader, node)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        # cfn-flip splits on the first dot: `a.b.c` → ["a", "b.c"]
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _tag)


def loads(text: str, source: str = "<string>") -> Any:
    """Parse YAML text with CloudFormation tags; raise YamlError naming `source` on bad input."""
    try:
        return yaml.load(text, Loader=CfnLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(source, f"{line}invalid YAML ({problem})") from None


def load_file(path: Path) -> Any:
    """Read and parse one YAML file (UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(str(path), f"cannot read ({exc})") from None
    return loads(text, str(path))


def dumps(data: Any) -> str:
    """Dump data as block YAML (long-form intrinsics), keeping key order, for `cirro show`."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
