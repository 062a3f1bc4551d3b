"""The failure path of `cirro deploy`: a stack whose creation fails, and the deploy after the fix.

Against moto's server the failure is real (moto refuses a FIFO queue whose name lacks `.fifo`),
but moto raises it from ExecuteChangeSet and never rolls back. What AWS does instead (the
resource's CREATE_FAILED event, the knock-on cancellations, ROLLBACK_COMPLETE) is played by a
small CloudFormation stand-in that answers with AWS's shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cirrostratus.aws.deploy import Deployer, DeployError
from cirrostratus.cli.deploy import _print_report

from .conftest import cirro, make_project

FIFO = "Resources:\n  OrderQueue:\n    Type: AWS::SQS::Queue\n    Properties:\n"


def test_failed_creation_then_the_fixed_deploy_works(tmp_path: Path, aws: Any) -> None:
    root = make_project(tmp_path / "proj", "failing")
    extra = root / "cloudformation" / "orders.yml"
    extra.write_text(FIFO + "      QueueName: orders\n      FifoQueue: true\n")
    args = [
        "--project", str(root), "deploy", "--skip-unsupported", "--no-vendor", "--poll", "0.05",
        "--bucket", "failing-deploys",  # the shared stack's test expects to make the default one
    ]  # fmt: skip
    failed = cirro(*args, code=1)
    message = str(failed.exception)
    assert "Queue name must end in .fifo" in message
    assert "stack failing-dev is REVIEW_IN_PROGRESS" in message  # where moto leaves it
    assert "Traceback" not in failed.output
    # moto made the state table before the queue failed, and did not roll it back
    assert "failing-dev-state" in aws("dynamodb").list_tables()["TableNames"]
    extra.write_text(FIFO + "      QueueName: orders.fifo\n      FifoQueue: true\n")
    fixed = cirro(*args)
    assert "its creation failed and CloudFormation can only delete it" in fixed.output
    assert "stack failing-dev: CREATE_COMPLETE" in fixed.output
    queues = aws("sqs").list_queues()["QueueUrls"]
    assert any(u.endswith("/orders.fifo") for u in queues)
    listed = aws("cloudformation").list_stack_resources(StackName="failing-dev")
    assert "OrderQueue" in {r["LogicalResourceId"] for r in listed["StackResourceSummaries"]}


class _NotFound(Exception):
    response = {"Error": {"Code": "ValidationError", "Message": "Stack with id s does not exist"}}


def _event(n: int, logical: str, kind: str, status: str, reason: str = "") -> dict[str, Any]:
    return {
        "EventId": f"e{n}",
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
    }


STACK = "AWS::CloudFormation::Stack"
#: what AWS reports, oldest first, when the queue of this template fails to create
ROLLED_BACK = [
    _event(1, "s", STACK, "CREATE_IN_PROGRESS", "User Initiated"),
    _event(2, "StateTable", "AWS::DynamoDB::Table", "CREATE_IN_PROGRESS"),
    _event(3, "OrderQueue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"),
    _event(
        4, "OrderQueue", "AWS::SQS::Queue", "CREATE_FAILED",
        "Resource handler returned message: \"The name of a FIFO queue can only include "
        "alphanumeric characters, hyphens, or underscores, must end with .fifo suffix\"",
    ),
    _event(5, "StateTable", "AWS::DynamoDB::Table", "CREATE_FAILED", "Resource creation cancelled"),
    _event(6, "s", STACK, "ROLLBACK_IN_PROGRESS",
           "The following resource(s) failed to create: [StateTable, OrderQueue]."),
    _event(7, "StateTable", "AWS::DynamoDB::Table", "DELETE_COMPLETE"),
    _event(8, "OrderQueue", "AWS::SQS::Queue", "DELETE_COMPLETE"),
    _event(9, "s", STACK, "ROLLBACK_COMPLETE"),
]  # fmt: skip


class FakeCloudFormation:
    """The calls Deployer makes, answered as AWS answers them (events newest first)."""

    def __init__(self, status: str | None, events: list[dict[str, Any]] | None = None) -> None:
        self.status = status
        self.events = list(events or [])
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fixed = False  # once True, an execution succeeds

    def _stack(self) -> dict[str, Any]:
        if self.status is None:
            raise _NotFound()
        return {"StackName": "s", "StackStatus": self.status}

    def describe_stacks(self, **kw: Any) -> dict[str, Any]:
        return {"Stacks": [self._stack()]}

    def describe_stack_events(self, **kw: Any) -> dict[str, Any]:
        self._stack()
        return {"StackEvents": list(reversed(self.events))}

    def get_paginator(self, name: str) -> Any:
        fake = self

        class Pages:
            def paginate(self, **kw: Any) -> list[dict[str, Any]]:
                return [fake.describe_stack_events()]

        return Pages()

    def execute_change_set(self, **kw: Any) -> None:
        self.calls.append(("execute_change_set", kw))
        if self.fixed:
            self.events.append(_event(100 + len(self.calls), "s", STACK, "CREATE_COMPLETE"))
            self.status = "CREATE_COMPLETE"
            return
        self.events += ROLLED_BACK
        self.status = "ROLLBACK_COMPLETE"

    def delete_stack(self, **kw: Any) -> None:
        self.calls.append(("delete_stack", kw))
        self.events.append(_event(99, "s", STACK, "DELETE_COMPLETE"))
        self.status = None

    def create_change_set(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("create_change_set", kw))
        self.status = "REVIEW_IN_PROGRESS"
        return {"Id": "cs-1"}

    def describe_change_set(self, **kw: Any) -> dict[str, Any]:
        return {"Status": "CREATE_COMPLETE", "Changes": []}


class FakeS3:
    """The deployment bucket: there, and every upload accepted."""

    def head_bucket(self, **kw: Any) -> None: ...

    def head_object(self, **kw: Any) -> None: ...

    def put_object(self, **kw: Any) -> None: ...


class FakeSession:
    def __init__(self, cf: FakeCloudFormation) -> None:
        self.cf = cf

    def client(self, name: str, region_name: str | None = None) -> Any:
        return self.cf if name == "cloudformation" else FakeS3()


def _deployer(cf: FakeCloudFormation, notices: list[str] | None = None) -> Deployer:
    return Deployer(
        "s",
        region="us-west-2",
        session=FakeSession(cf),
        poll_seconds=0,
        on_notice=(notices if notices is not None else []).append,
    )


def test_a_rolled_back_creation_names_its_cause(capsys: pytest.CaptureFixture[str]) -> None:
    cf = FakeCloudFormation("REVIEW_IN_PROGRESS")
    report = _deployer(cf).execute("cs-1")
    assert report.status == "ROLLBACK_COMPLETE" and not report.ok
    assert report.failed[0][:2] == ("OrderQueue", "AWS::SQS::Queue")
    assert "must end with .fifo" in report.failed[0][2]
    assert [f[0] for f in report.failed] == ["OrderQueue", "StateTable"]  # cause first
    _print_report(report)
    out = capsys.readouterr().out
    assert "stack s: ROLLBACK_COMPLETE" in out
    assert out.index("failed: OrderQueue (AWS::SQS::Queue)") < out.index("failed: StateTable")


def test_a_rolled_back_stack_is_deleted_before_it_is_created_again() -> None:
    cf = FakeCloudFormation("ROLLBACK_COMPLETE", ROLLED_BACK)
    notices: list[str] = []
    cs_id, _ = _deployer(cf, notices).change_set("https://t", {"DeploymentBucket": "b"})
    assert cs_id == "cs-1"
    assert [c[0] for c in cf.calls] == ["delete_stack", "create_change_set"]
    assert cf.calls[1][1]["ChangeSetType"] == "CREATE"
    assert notices and "is ROLLBACK_COMPLETE: its creation failed" in notices[0]


def test_a_dry_run_never_deletes_the_failed_stack() -> None:
    cf = FakeCloudFormation("ROLLBACK_COMPLETE", ROLLED_BACK)
    with pytest.raises(DeployError, match="a deploy deletes it and creates it anew"):
        _deployer(cf).change_set("https://t", {}, dry_run=True)
    assert cf.calls == [] and cf.status == "ROLLBACK_COMPLETE"


def test_a_failed_update_is_updated_again_and_a_stuck_stack_says_what_to_do() -> None:
    cf = FakeCloudFormation("UPDATE_ROLLBACK_COMPLETE", ROLLED_BACK)
    _deployer(cf).change_set("https://t", {})
    assert [c[0] for c in cf.calls] == ["create_change_set"]
    assert cf.calls[0][1]["ChangeSetType"] == "UPDATE"
    stuck = FakeCloudFormation("UPDATE_ROLLBACK_FAILED")
    with pytest.raises(DeployError, match="continue-update-rollback"):
        _deployer(stuck).change_set("https://t", {})
    assert stuck.calls == []


def test_an_untouched_review_stack_is_created_not_deleted() -> None:
    cf = FakeCloudFormation("REVIEW_IN_PROGRESS", [_event(1, "s", STACK, "REVIEW_IN_PROGRESS")])
    _deployer(cf).change_set("https://t", {})
    assert [c[0] for c in cf.calls] == ["create_change_set"]


def test_an_emulators_json_error_is_read_out_of_botocores_quote() -> None:
    from cirrostratus.aws.deploy import _message

    class Quoted(Exception):
        response = {
            "Error": {
                "Message": "Unable to parse response (not well-formed (invalid token): line 1, "
                'column 0), invalid XML received. Further retries may succeed:\nb\'{"__type": '
                '"com.amazonaws.dynamodb.v20120810#ResourceInUseException", "message": '
                '"Table already exists: cirrus-dev-state"}\''
            }
        }

    assert _message(Quoted()) == "ResourceInUseException: Table already exists: cirrus-dev-state"


def test_cirro_deploy_on_a_rollback_exits_1_and_the_next_deploy_recreates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cirrostratus.aws.deploy as deploy_module

    cf = FakeCloudFormation(None)
    real = deploy_module.Deployer

    def on_fake(stack: str, **kw: Any) -> Deployer:
        kw.pop("profile", None)
        return real(stack, session=FakeSession(cf), **kw)

    monkeypatch.setattr(deploy_module, "Deployer", on_fake)
    root = make_project(tmp_path / "proj", "s")
    args = ["--project", str(root), "deploy", "--no-vendor", "--poll", "0", "--bucket", "b"]
    failed = cirro(*args, code=1)
    assert "stack s-dev: ROLLBACK_COMPLETE" in failed.output
    assert "failed: OrderQueue (AWS::SQS::Queue): Resource handler returned" in failed.output
    assert "OrderQueue (AWS::SQS::Queue) CREATE_FAILED: Resource handler" in failed.output
    assert "deploying s-dev failed (ROLLBACK_COMPLETE); fix the cause and deploy again" in str(
        failed.exception
    )
    cf.fixed = True
    again = cirro(*args)
    assert "stack s-dev is ROLLBACK_COMPLETE: its creation failed" in again.output
    assert "stack s-dev: CREATE_COMPLETE" in again.output
    assert [c[0] for c in cf.calls] == [
        "create_change_set", "execute_change_set",  # rolled back
        "delete_stack", "create_change_set", "execute_change_set",
    ]  # fmt: skip
