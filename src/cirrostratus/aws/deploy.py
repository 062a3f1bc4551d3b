"""`cirro deploy` and `cirro remove`: a built project onto CloudFormation, through a change set.

The steps are the ones a careful person runs by hand: make sure the deployment bucket exists,
upload the content-addressed zips (skipping keys already there) and the template, create a
change set (CREATE for a new stack, UPDATE for an existing one), show it, execute it, follow
the stack's events until it settles, and report the final status with the resource that
caused a failure and the stack's outputs. boto3 is imported only here and honours
`AWS_ENDPOINT_URL`, which is how the tests run all of it against moto's server.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cirrostratus.aws.deploy_skip import skip_unsupported

__all__ = [
    "DeployError",
    "Deployer",
    "StackReport",
    "failure_of",
    "skip_unsupported",
]

#: Statuses a stack rests in; anything else is still moving.
SETTLED_SUFFIXES = ("_COMPLETE", "_FAILED")
FAILED_STATUSES = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED",
    "DELETE_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
}
#: Statuses no deploy can move on from by itself, and what the user does about each.
STUCK = {
    "ROLLBACK_FAILED": (
        "its creation failed and so did deleting what it had made; `cirro remove` (delete "
        "what blocks it first), then deploy again"
    ),
    "UPDATE_ROLLBACK_FAILED": (
        "an update failed and so did its rollback; fix what blocks it, run `aws cloudformation "
        "continue-update-rollback --stack-name <stack>`, then deploy again"
    ),
    "DELETE_FAILED": "a delete failed; `cirro remove` again once what blocks it is gone",
}
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
#: A cascade of these follows the resource that really failed; they are not the cause.
_KNOCK_ON = ("Resource creation cancelled", "Resource update cancelled")


class DeployError(Exception):
    """A deploy or remove that cannot go on; the message is all the CLI prints."""


@dataclass
class StackReport:
    """How an operation on a stack ended: `status`, the failed resources (logical id, type,
    reason — the cause first) and the stack's outputs."""

    stack: str
    status: str
    reason: str | None = None
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status not in FAILED_STATUSES and not self.status.endswith("_FAILED")


def failure_of(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The failed resources in stack `events` (oldest first), the cause before the knock-ons.

    CloudFormation cancels every other resource once one fails; those say "Resource
    creation cancelled" and are listed after the resource that really failed.
    """
    failed = [
        (
            str(e.get("LogicalResourceId", "")),
            str(e.get("ResourceType", "")),
            str(e.get("ResourceStatusReason") or ""),
        )
        for e in events
        if str(e.get("ResourceStatus", "")).endswith("_FAILED")
        and e.get("ResourceType") != "AWS::CloudFormation::Stack"
    ]
    return sorted(failed, key=lambda f: any(f[2].startswith(k) for k in _KNOCK_ON))


def _session(region: str | None, profile: str | None) -> Any:
    import boto3

    try:
        return boto3.session.Session(profile_name=profile, region_name=region)
    except Exception as exc:  # botocore.exceptions.ProfileNotFound and kin
        raise DeployError(f"AWS profile {profile!r}: {exc}") from None


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _message(exc: BaseException) -> str:
    """The error's own message. An emulator that answers a CloudFormation (XML) call with
    another service's JSON error makes botocore quote the raw body: take its message out."""
    text = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")) or str(exc)
    if "Unable to parse response" in text:
        found = re.search(r'"__type": "(?:[^"#]*#)?([^"]+)", "message": "([^"]*)"', text)
        if found:
            return f"{found.group(1)}: {found.group(2)}"
        if "Internal Server Error" in text:
            return "the emulator failed with an internal error (HTTP 500); see its log"
    return text


class Deployer:
    """One stack in one region (optionally with a named AWS profile)."""

    def __init__(
        self,
        stack: str,
        *,
        region: str,
        profile: str | None = None,
        session: Any = None,
        poll_seconds: float = 2.0,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.stack = stack
        self.region = region
        self.session = session or _session(region, profile)
        self.cf = self.session.client("cloudformation", region_name=region)
        self.s3 = self.session.client("s3", region_name=region)
        self.poll_seconds = poll_seconds
        self.on_event = on_event or (lambda event: None)
        self.on_notice = on_notice or (lambda text: None)

    # --- the deployment bucket ---------------------------------------------------------

    def default_bucket(self) -> str:
        """`cirro-deploy-<account>-<region>`: one per account and region, as unique as S3
        bucket names must be, and under its 63-character limit."""
        try:
            account = self.session.client("sts", region_name=self.region).get_caller_identity()
        except Exception as exc:
            raise DeployError(f"cannot tell which AWS account to deploy to: {exc}") from None
        return f"cirro-deploy-{account['Account']}-{self.region}"

    def ensure_bucket(self, bucket: str) -> bool:
        """Create `bucket` when missing (True when it was created)."""
        try:
            self.s3.head_bucket(Bucket=bucket)
            return False
        except Exception as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise DeployError(f"deployment bucket {bucket}: {_message(exc)}") from None
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.s3.create_bucket(**kwargs)
        except Exception as exc:
            raise DeployError(
                f"cannot create deployment bucket {bucket}: {_message(exc)}"
            ) from None
        return True

    def upload(self, bucket: str, template: dict[str, Any], packages: dict[str, Any]) -> str:
        """Upload the zips not yet in `bucket` and the template; return the template's URL.

        Zip keys carry their content's digest, so a key already present holds the same bytes.
        """
        for key, path in packages.items():
            try:
                self.s3.head_object(Bucket=bucket, Key=key)
                continue
            except Exception as exc:
                if _code(exc) not in ("404", "NoSuchKey", "NotFound"):
                    raise DeployError(f"s3://{bucket}/{key}: {_message(exc)}") from None
            self.s3.upload_file(str(path), bucket, key)
        key = f"cirro/{self.stack}/template-{int(time.time() * 1000)}.json"
        self.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(template).encode())
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}"

    # --- stacks ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any] | None:
        """The stack, or None when it does not exist (or was deleted)."""
        try:
            stacks = self.cf.describe_stacks(StackName=self.stack)["Stacks"]
        except Exception as exc:
            if "does not exist" in _message(exc):
                return None
            raise DeployError(f"stack {self.stack}: {_message(exc)}") from None
        if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
            return None
        return dict(stacks[0])

    def change_set(
        self, template_url: str, parameters: dict[str, str], *, dry_run: bool = False
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """Create a change set and wait until it is ready: (its id, its changes).

        The id is None when there is nothing to change (the set is deleted then). A stack
        left in REVIEW_IN_PROGRESS by an earlier dry run is still created, not updated; one
        whose creation failed is deleted first (`replace_failed_creation`), except in a dry
        run, which changes nothing and says what a deploy would do.
        """
        self._last = (template_url, parameters)
        current = self.describe()
        if dry_run and current and self._failed_creation(current):
            raise DeployError(
                f"stack {self.stack} is {current['StackStatus']} (its creation failed): a deploy "
                "deletes it and creates it anew; a dry run cannot show that as a change set"
            )
        current = self.replace_failed_creation(current)
        kind = "UPDATE" if current and current["StackStatus"] != "REVIEW_IN_PROGRESS" else "CREATE"
        status = current["StackStatus"] if current else ""
        if status in STUCK:
            raise DeployError(f"stack {self.stack} is {status}: {STUCK[status]}")
        if status.endswith("_IN_PROGRESS") and kind == "UPDATE":
            raise DeployError(
                f"stack {self.stack} is {status}: wait for it to settle, then deploy again"
            )
        try:
            created = self.cf.create_change_set(
                StackName=self.stack,
                ChangeSetName=f"cirro-{int(time.time() * 1000)}",
                ChangeSetType=kind,
                TemplateURL=template_url,
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                ],
                Capabilities=CAPABILITIES,
            )
        except Exception as exc:
            raise DeployError(f"CloudFormation refused the template: {_message(exc)}") from None
        cs_id = str(created["Id"])
        while True:
            described = self.cf.describe_change_set(ChangeSetName=cs_id, StackName=self.stack)
            if not described["Status"].endswith("_PENDING") and not described["Status"].endswith(
                "_IN_PROGRESS"
            ):
                break
            time.sleep(self.poll_seconds)
        changes = [c.get("ResourceChange", {}) for c in described.get("Changes", [])]
        if described["Status"] == "FAILED":
            reason = str(described.get("StatusReason") or "")
            self.delete_change_set(cs_id)
            if "didn't contain changes" in reason or "No updates" in reason:
                return None, []
            raise DeployError(f"the change set failed: {reason}")
        return cs_id, changes

    def replace_failed_creation(self, current: dict[str, Any] | None) -> dict[str, Any] | None:
        """Delete a stack whose creation failed, so it can be created again; return what is
        left (None once deleted).

        CloudFormation can only delete a ROLLBACK_COMPLETE stack (its creation failed and was
        rolled back), never update it. An emulator that does not roll back (moto raises from
        ExecuteChangeSet instead) leaves the stack REVIEW_IN_PROGRESS after an execution began,
        holding what it created before the failure: delete that too. A REVIEW_IN_PROGRESS stack
        no execution touched (another change set under review) is left alone.
        """
        if current is None or not self._failed_creation(current):
            return current
        status = current["StackStatus"]
        self.on_notice(
            f"stack {self.stack} is {status}: its creation failed and CloudFormation can only "
            "delete it; deleting it, then creating it again"
        )
        seen = self._seen_events()
        try:
            self.cf.delete_stack(StackName=self.stack)
        except Exception as exc:
            raise DeployError(
                f"deleting the failed stack {self.stack} failed: {_message(exc)}"
            ) from None
        status, events = self._follow(seen, lambda s: s in ("DELETE_COMPLETE", "DELETE_FAILED"))
        if status != "DELETE_COMPLETE":
            culprit = failure_of(events)
            detail = f" ({culprit[0][0]}: {culprit[0][2]})" if culprit else ""
            raise DeployError(
                f"stack {self.stack} could not be deleted ({status}){detail}: delete what "
                "holds it, then `cirro remove` and deploy again"
            )
        return None

    def _failed_creation(self, current: dict[str, Any]) -> bool:
        status = current["StackStatus"]
        if status == "REVIEW_IN_PROGRESS":
            return self._execution_began()
        return bool(status == "ROLLBACK_COMPLETE")

    def _execution_began(self) -> bool:
        """True when the stack's own events show a creation that started (moto's half-made
        stack after ExecuteChangeSet raised)."""
        try:
            events = self.cf.describe_stack_events(StackName=self.stack)["StackEvents"]
        except Exception:
            return False
        return any(
            e.get("ResourceType") == "AWS::CloudFormation::Stack"
            and e.get("ResourceStatus") == "CREATE_IN_PROGRESS"
            for e in events
        )

    def delete_change_set(self, cs_id: str) -> None:
        self.cf.delete_change_set(ChangeSetName=cs_id, StackName=self.stack)
        current = self.describe()
        if current and current["StackStatus"] == "REVIEW_IN_PROGRESS":
            # A dry run of a first deploy leaves an empty stack behind; remove it.
            self.cf.delete_stack(StackName=self.stack)

    def _seen_events(self) -> set[str]:
        try:
            pages = self.cf.get_paginator("describe_stack_events").paginate(StackName=self.stack)
            return {e["EventId"] for page in pages for e in page["StackEvents"]}
        except Exception:
            return set()

    def _follow(self, seen: set[str], done: Callable[[str], bool]) -> tuple[str, list[Any]]:
        """Report new stack events until `done(status)`; return the status and the events."""
        new: list[dict[str, Any]] = []
        while True:
            current = self.describe()
            status = current["StackStatus"] if current else "DELETE_COMPLETE"
            try:
                events = self.cf.describe_stack_events(StackName=self.stack)["StackEvents"]
            except Exception:
                events = []
            for event in reversed(events):  # the API lists newest first
                if event["EventId"] not in seen:
                    seen.add(event["EventId"])
                    new.append(event)
                    self.on_event(event)
            if done(status):
                return status, new
            time.sleep(self.poll_seconds)

    def execute(self, cs_id: str, *, emulator: bool = False) -> StackReport:
        """Execute the change set, follow the stack's events and report how it ended.

        `emulator`: moto's change sets never compute the stack's outputs; when the stack
        settles without the outputs its template declares, update it once with the same
        template (UpdateStack), which does. AWS always has them, so this never runs there.
        """
        seen = self._seen_events()
        try:
            self.cf.execute_change_set(ChangeSetName=cs_id, StackName=self.stack)
        except Exception as exc:
            # AWS fails a resource through the stack's events, after this call returns; moto
            # raises the resource's error here and stops, without rolling back.
            current = self.describe()
            now = f"; stack {self.stack} is {current['StackStatus']}" if current else ""
            raise DeployError(
                f"executing the change set failed: {_message(exc)}{now}. Fix it and deploy "
                "again (a stack whose creation failed is deleted and created anew)"
            ) from None

        def settled(s: str) -> bool:
            return s.endswith(SETTLED_SUFFIXES) and not s.endswith("CLEANUP_COMPLETE")

        status, events = self._follow(seen, settled)
        if emulator and status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            current = self.describe() or {}
            if not current.get("Outputs"):
                try:  # no Parameters: moto then keeps the stack's and skips its no-op check
                    self.cf.update_stack(
                        StackName=self.stack, TemplateURL=self._last[0], Capabilities=CAPABILITIES
                    )
                except Exception as exc:  # "No updates are to be performed": nothing to add
                    if "No updates" not in _message(exc):
                        raise DeployError(f"refreshing outputs failed: {_message(exc)}") from None
                else:
                    self._follow(seen, settled)
        return self.report(status, events)

    def report(self, status: str, events: list[dict[str, Any]]) -> StackReport:
        current = self.describe() or {}
        outputs = {
            o["OutputKey"]: str(o.get("OutputValue", "")) for o in current.get("Outputs", [])
        }
        return StackReport(
            self.stack,
            status,
            current.get("StackStatusReason"),
            failure_of(events) if status in FAILED_STATUSES else [],
            outputs,
        )

    def remove(self) -> StackReport:
        """Delete the stack and wait until it is gone (DELETE_COMPLETE) or failed."""
        if self.describe() is None:
            raise DeployError(f"no stack named {self.stack} in {self.region}: nothing to remove")
        seen = self._seen_events()
        try:
            self.cf.delete_stack(StackName=self.stack)
        except Exception as exc:
            raise DeployError(f"deleting stack {self.stack} failed: {_message(exc)}") from None
        status, events = self._follow(seen, lambda s: s in ("DELETE_COMPLETE", "DELETE_FAILED"))
        return StackReport(self.stack, status, None, failure_of(events))
