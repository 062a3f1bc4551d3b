"""moto's server, three gaps closed, for the docs test of a page that deploys (docs/tasks.md).

A guide's commands must be the ones a reader types against AWS, so the page cannot pass
`cirro deploy --skip-unsupported` (which leaves resources out for emulators). Instead this
child process runs moto's server after teaching it three things AWS does and moto 5 does not:

- a CloudFormation `AWS::Batch::ComputeEnvironment` without `ServiceRole` uses Batch's
  service-linked role (AWS makes the property optional; moto raises KeyError);
- executing a change set computes the stack's outputs and exports (moto leaves them empty,
  since a change-set stack is created with an empty template);
- deleting a stack deletes its `AWS::EC2::RouteTable`s (moto keeps them, so the stack's VPC
  "has dependencies" and `cirro remove` fails).

Nothing else is changed: what moto cannot do (run Lambda code, Batch jobs) stays undone, and
the page shows only what really happens. Run as `python aws_emulator.py -H 127.0.0.1 -p PORT`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BATCH_SERVICE_ROLE = "AWSServiceRoleForBatch"


def _batch_service_role(account_id: str) -> str:
    """The ARN of Batch's service-linked role in moto's IAM, created on first use."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["global"]
    try:
        return str(iam.get_role(BATCH_SERVICE_ROLE).arn)
    except Exception:  # moto's IAMNotFoundException: not created yet
        path = "/aws-service-role/batch.amazonaws.com/"
        role = iam.create_role(BATCH_SERVICE_ROLE, "{}", path, None, "", [], None)
        return str(role.arn)


def _patch_compute_environment() -> None:
    from moto.batch import models as batch

    original = batch.ComputeEnvironment.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, name: str, resource: dict[str, Any], account_id: str, region: str, **kw: Any
    ) -> Any:
        properties = resource.get("Properties", {})
        if not properties.get("ServiceRole"):
            role = _batch_service_role(account_id)
            resource = {**resource, "Properties": {**properties, "ServiceRole": role}}
        return original(cls, name, resource, account_id, region, **kw)

    batch.ComputeEnvironment.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def _patch_change_set_outputs() -> None:
    from moto.cloudformation import models as cfn

    original = cfn.CloudFormationBackend.execute_change_set

    def execute(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        for stack in self.stacks.values():
            if isinstance(stack.template, str) and stack.template:
                stack._parse_template()
                stack.output_map = stack._create_output_map()
                for export in stack.exports:  # as create_stack registers them
                    self.exports[export.name] = export

    cfn.CloudFormationBackend.execute_change_set = execute  # type: ignore[method-assign]


def _patch_route_table_delete() -> None:
    from moto.ec2.models import ec2_backends, route_tables

    def delete(cls: Any, name: str, resource: Any, account_id: str, region: str) -> None:
        ec2 = ec2_backends[account_id][region]
        table = ec2.route_tables.get(name)
        if table is not None:
            table._associations.clear()  # AWS deletes the associations with their stack
            ec2.route_tables.pop(name, None)

    route_tables.RouteTable.delete_from_cloudformation_json = classmethod(delete)  # type: ignore[method-assign,assignment]


@contextmanager
def aws_emulator(start_timeout: float = 60.0) -> Iterator[str]:
    """Start this module's server in a child process on a loopback port; yield its URL.

    The start-and-wait is tests/aws/moto_process.py's, with this script as the command."""
    aws_tests = str(Path(__file__).parents[1] / "aws")
    sys.path.insert(0, aws_tests)
    try:
        from moto_process import moto_server
    finally:
        sys.path.remove(aws_tests)
    argv = [sys.executable, str(Path(__file__))]
    with moto_server(argv, start_timeout, name="the AWS emulator") as url:
        yield url


if __name__ == "__main__":
    _patch_compute_environment()
    _patch_change_set_outputs()
    _patch_route_table_delete()
    from moto.server import main

    main(sys.argv[1:])
