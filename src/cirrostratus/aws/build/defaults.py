"""Resources the project refers to but does not declare, taken from `cirro init`'s templates.

cirrus.yml's defaults refer to the buckets `Data` and `Payloads` (cloudformation/s3.yml) and to
the VPC `pubPrivateVPC` with `privateSubnet1`/`privateSubnet2` (cloudformation/vpc.yml). A
project made by `cirro init` has both files; for one that lacks them (the builtins alone, an
older Cirrus project) the build adds the same templates, with a warning, rather than emit a
template with dangling references. Any other missing reference is an error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cirrostratus.aws.build.model import BuildError
from cirrostratus.aws.build.resolve import hash_to_sub
from cirrostratus.project import yamlcfn

TEMPLATES = Path(__file__).resolve().parents[2] / "project" / "templates"
PSEUDO = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}


def references(value: Any) -> set[str]:
    """Logical ids named by Ref, Fn::GetAtt, DependsOn and `${X}` in Fn::Sub."""
    import re

    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                head = item[0] if isinstance(item, list) and item else str(item).split(".")[0]
                found.add(str(head))
            elif key == "DependsOn":
                found.update(item if isinstance(item, list) else [item])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0] if isinstance(item, list) else ""
                local = (
                    set(item[1])
                    if isinstance(item, list) and len(item) > 1 and isinstance(item[1], dict)
                    else set()
                )
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    head = name.split(".")[0]
                    if head not in local:
                        found.add(head)
                if isinstance(item, list):
                    found |= references(item[1:])
            else:
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def add_missing_defaults(sections: dict[str, dict[str, Any]], warnings: list[str]) -> None:
    for file in ("s3.yml", "vpc.yml"):
        missing = _missing(sections)
        template = yamlcfn.load_file(TEMPLATES / file)
        ids = set(template.get("Resources", {}))
        if not missing & ids:
            continue
        warnings.append(
            f"cloudformation/{file} is missing and {', '.join(sorted(missing & ids))} is "
            f"referred to: added `cirro init`'s {file}"
        )
        for section, objects in template.items():
            if isinstance(objects, dict):
                bucket = sections.setdefault(section, {})
                for name, body in objects.items():
                    bucket.setdefault(name, hash_to_sub(body))
    missing = _missing(sections)
    if missing:
        raise BuildError(
            f"the template refers to {', '.join(sorted(missing))}, which no cloudformation/*.yml "
            "and no batch.resources declares; declare it or remove the reference"
        )


def _missing(sections: dict[str, dict[str, Any]]) -> set[str]:
    declared = set(sections.get("Resources", {})) | set(sections.get("Parameters", {}))
    declared.add("DeploymentBucket")
    referred = references(sections.get("Resources", {})) | references(sections.get("Outputs", {}))
    return {
        r for r in referred if r not in declared and r not in PSEUDO and not r.startswith("AWS::")
    }
