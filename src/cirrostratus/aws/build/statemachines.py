"""A Step Functions state machine (and its role) per enabled workflow.

What serverless-step-functions did: `Fn::GetAtt [name, Arn]` naming a function becomes that
function's ARN, `#{X}` becomes `${X}` (a Ref: job queues and revisioned job definitions), the
whole definition a `DefinitionString` under `Fn::Sub`. Literal `${` in the definition is
escaped (`${!`), so ASL text survives Fn::Sub unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cirrostratus.aws.build import iam, names
from cirrostratus.aws.build.model import BuildError
from cirrostratus.aws.build.resolve import Resolver
from cirrostratus.project import Project
from cirrostratus.project.components import Workflow

_HASH = re.compile(r"#\{([A-Za-z0-9:._-]+)\}")


def state_machine_name(project: Project, workflow: Workflow, stage: str, resolver: Resolver) -> str:
    """`<service>-<stage>-<workflow>` unless the definition names it (resolved)."""
    name = resolver.value(workflow.state_machine_name) if workflow.state_machine_name else None
    if isinstance(name, str) and "${" not in name and "#{" not in name:
        return name
    return f"{project.service}-{stage}-{workflow.name}"


def state_machine_resources(
    project: Project,
    workflow: Workflow,
    *,
    stage: str,
    resolver: Resolver,
    renames: dict[str, str],
    functions: dict[str, str],
) -> dict[str, Any]:
    """`functions` maps component names to their function logical ids."""
    file = project.display(workflow.definition_file)
    used_functions: set[str] = set()
    uses_batch = False

    def convert(value: Any) -> Any:
        nonlocal uses_batch
        if isinstance(value, dict):
            att = value.get("Fn::GetAtt")
            if len(value) == 1 and att is not None:
                target, attr = _getatt(att, file)
                if target in functions:
                    used_functions.add(functions[target])
                    return f"${{{functions[target]}.{attr}}}"
                if project.component(target) is not None:
                    raise BuildError(
                        f"{file}: Fn::GetAtt [{target}, {attr}] names a component with no "
                        "lambda in this build (disabled, no handler, or left out); enable "
                        "its lambda or run it another way (e.g. Batch)"
                    )
                return f"${{{renames.get(target, target)}.{attr}}}"
            if len(value) == 1 and isinstance(value.get("Ref"), str):
                return f"${{{renames.get(value['Ref'], value['Ref'])}}}"
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, str):
            if value.startswith("arn:aws:states:::batch:"):
                uses_batch = True
            if value.startswith("arn:aws:states:::lambda:invoke"):
                pass
            text = value.replace("${", "${!")
            return _HASH.sub(lambda m: "${" + _rename(m.group(1), renames) + "}", text)
        return value

    definition = convert(resolver.value(workflow.definition))
    for function_arn in _invoked_functions(definition, functions):
        used_functions.add(function_arn)
    sm_id = names.state_machine_id(workflow.name)
    role_id = names.state_machine_role_id(workflow.name)
    statements: list[dict[str, Any]] = []
    if used_functions:
        arns: list[Any] = []
        for fid in sorted(used_functions):
            arns += [{"Fn::GetAtt": [fid, "Arn"]}, {"Fn::Sub": f"${{{fid}.Arn}}:*"}]
        statements.append(
            {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": arns}
        )
    if uses_batch:
        statements += [
            {
                "Effect": "Allow",
                "Action": ["batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                "Resource": {
                    "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}"
                    ":rule/StepFunctionsGetEventsForBatchJobsRule"
                },
            },
        ]
    props: dict[str, Any] = {
        "StateMachineName": state_machine_name(project, workflow, stage, resolver),
        "DefinitionString": {"Fn::Sub": json.dumps(definition, indent=2, sort_keys=False)},
        "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
    }
    kind = workflow.raw.get("type")
    if isinstance(kind, str) and kind.upper() in ("STANDARD", "EXPRESS"):
        props["StateMachineType"] = kind.upper()
    return {
        role_id: iam.service_role("states.amazonaws.com", statements),
        sm_id: {"Type": "AWS::StepFunctions::StateMachine", "Properties": props},
    }


def _rename(name: str, renames: dict[str, str]) -> str:
    head, dot, tail = name.partition(".")
    return renames.get(head, head) + dot + tail


def _getatt(value: Any, file: str) -> tuple[str, str]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    if isinstance(value, str) and "." in value:
        head, tail = value.split(".", 1)
        return head, tail
    raise BuildError(f"{file}: Fn::GetAtt {value!r} must be [name, Arn] (or !GetAtt name.Arn)")


def _invoked_functions(definition: Any, functions: dict[str, str]) -> set[str]:
    """Function ids named by `${X.Arn}` anywhere (e.g. lambda:invoke's FunctionName)."""
    text = json.dumps(definition)
    ids = set(functions.values())
    return {m for m in re.findall(r"\$\{([A-Za-z0-9]+)\.Arn\}", text) if m in ids}
