"""Create a project's CloudFormation resources on the local AWS, the way the stack would.

Builtins first, then the project's cloudformation/*.yml and tasks' batch.resources — the
same objects `cirro show cloudformation` lists. What task code calls is created: S3 buckets,
SQS queues (with their redrive policies), SNS topics (and their SQS subscriptions),
DynamoDB tables (keys and indexes as written), Secrets Manager secrets. Everything else
(IAM roles, Batch, Timestream, networking, …) is listed as skipped: the engine plays Batch
itself, and nothing of ours calls the rest.

Names follow CloudFormation: the name property when it resolves here (`#{AWS::StackName}`,
`${self:service}`, …), else `<stack>-<LogicalId>` (lower case for buckets). Each created
resource answers `!Ref` and `!GetAtt … .Arn` (a bucket's Ref is its name, a queue's its URL,
a topic's its ARN, a table's its name), which is how task environments get them.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cirrostratus.runtime.env import StackContext, Unresolvable, local_value

Refs = dict[str, dict[str, str]]
NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SecretsManager::Secret": "Name",
}
QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


@dataclass
class Created:
    """What exists on the local AWS after `create_resources`."""

    refs: Refs = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # logical id → type
    skipped: dict[str, str] = field(default_factory=dict)  # logical id → type
    failed: dict[str, str] = field(default_factory=dict)  # logical id → why moto refused it

    def of_type(self, kind: str) -> dict[str, dict[str, str]]:
        return {k: self.refs[k] for k, t in self.kinds.items() if t == kind}

    def summary(self) -> str:
        """`2 buckets, 1 table, …; skipped 9 (Batch x6, IAM x3)`: created ones by kind,
        skipped ones by service (`skipped` names each)."""
        labels = {
            "AWS::S3::Bucket": "bucket",
            "AWS::SQS::Queue": "queue",
            "AWS::SNS::Topic": "topic",
            "AWS::DynamoDB::Table": "table",
            "AWS::SecretsManager::Secret": "secret",
        }
        parts = []
        for kind, label in labels.items():
            n = sum(1 for t in self.kinds.values() if t == kind)
            if n:
                parts.append(f"{n} {label}{'' if n == 1 else 's'}")
        text = ", ".join(parts) or "nothing"
        if self.skipped:
            counts: dict[str, int] = {}
            for kind in self.skipped.values():
                service = kind.split("::")[1] if kind.count("::") == 2 else kind
                counts[service] = counts.get(service, 0) + 1
            listed = ", ".join(f"{k} x{n}" for k, n in sorted(counts.items()))
            text += f"; skipped {len(self.skipped)} ({listed})"
        for lid, why in self.failed.items():
            text += f"; could not create {lid}: {why}"
        return text


def physical_name(logical_id: str, kind: str, props: Mapping[str, Any], stack: StackContext) -> str:
    """The resource's name: its name property if it resolves here, else CloudFormation's
    `<stack>-<LogicalId>` (buckets lower case, within S3's 63 characters)."""
    prop = NAME_PROPERTY.get(kind)
    if prop and prop in props:
        try:
            return local_value(props[prop], stack)
        except Unresolvable:
            pass
    name = f"{stack.stack_name}-{logical_id}"
    if kind == "AWS::S3::Bucket":
        name = re.sub(r"[^a-z0-9.-]", "-", name.lower())[:63].strip("-.")
    if kind == "AWS::SQS::Queue" and props.get("FifoQueue") in (True, "true"):
        name += ".fifo"
    return name


class Creator:
    """Creates resources through boto3 clients on the local endpoint."""

    def __init__(self, client: Callable[[str], Any], stack: StackContext) -> None:
        self.client = client
        self.stack = stack
        self.created = Created()

    def value(self, raw: Any) -> str:
        return local_value(raw, self.stack, self.created.refs)

    def create_all(self, resources: Mapping[str, Any]) -> Created:
        """Create every resource of a type we know, in dependency order (queues before the
        topics that subscribe them, the queues a redrive policy names before its queue)."""
        makers: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::SNS::Topic": self._topic,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::SNS::Subscription": self._subscription,
        }
        order = list(makers)
        known = [(lid, r) for lid, r in resources.items() if r.type in makers]
        for lid, r in resources.items():
            if r.type not in makers:
                self.created.skipped[lid] = str(r.type or "no Type")
        for lid, r in sorted(known, key=lambda item: order.index(str(item[1].type))):
            try:
                makers[str(r.type)](lid, r.properties)
            except Exception as exc:  # a template moto refuses: say so, create the rest
                self.created.failed[lid] = f"{type(exc).__name__}: {exc}"
        self._redrive(resources)
        return self.created

    def _record(self, lid: str, kind: str, refs: dict[str, str]) -> None:
        self.created.refs[lid] = refs
        self.created.kinds[lid] = kind

    def _bucket(self, lid: str, props: Mapping[str, Any]) -> None:
        name = physical_name(lid, "AWS::S3::Bucket", props, self.stack)
        self.bucket(name)
        self._record(
            lid,
            "AWS::S3::Bucket",
            {
                "Ref": name,
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.stack.region}.amazonaws.com",
            },
        )

    def bucket(self, name: str) -> None:
        """Create a bucket (no error when it exists)."""
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.stack.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.stack.region}
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(**kwargs)

    def _queue(self, lid: str, props: Mapping[str, Any]) -> None:
        name = physical_name(lid, "AWS::SQS::Queue", props, self.stack)
        attributes = {}
        for key in QUEUE_ATTRIBUTES:
            if key in props:
                try:
                    attributes[key] = self.value(props[key])
                except Unresolvable:
                    continue
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._record(
            lid, "AWS::SQS::Queue", {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}
        )

    def _redrive(self, resources: Mapping[str, Any]) -> None:
        """Redrive policies, once every queue they name exists."""
        sqs = self.client("sqs")
        for lid, r in resources.items():
            policy = r.properties.get("RedrivePolicy") if r.type == "AWS::SQS::Queue" else None
            if not isinstance(policy, Mapping) or lid not in self.created.refs:
                continue
            try:
                target = self.value(policy.get("deadLetterTargetArn"))
                count = str(self.value(policy.get("maxReceiveCount", 5)))
            except Unresolvable:
                continue
            sqs.set_queue_attributes(
                QueueUrl=self.created.refs[lid]["Ref"],
                Attributes={
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": target, "maxReceiveCount": count}
                    )
                },
            )

    def _topic(self, lid: str, props: Mapping[str, Any]) -> None:
        name = physical_name(lid, "AWS::SNS::Topic", props, self.stack)
        sns = self.client("sns")
        arn = sns.create_topic(Name=name)["TopicArn"]
        self._record(lid, "AWS::SNS::Topic", {"Ref": arn, "TopicArn": arn, "TopicName": name})
        for sub in props.get("Subscription") or []:
            if isinstance(sub, Mapping):
                self._subscribe(arn, sub)

    def _subscription(self, lid: str, props: Mapping[str, Any]) -> None:
        try:
            topic = self.value(props.get("TopicArn"))
        except Unresolvable:
            self.created.skipped[lid] = "AWS::SNS::Subscription"
            return
        arn = self._subscribe(topic, props)
        if arn is None:
            self.created.skipped[lid] = "AWS::SNS::Subscription"
            return
        self._record(lid, "AWS::SNS::Subscription", {"Ref": arn})

    def _subscribe(self, topic: str, props: Mapping[str, Any]) -> str | None:
        """Subscribe an SQS queue to a topic (other protocols have no local receiver)."""
        try:
            protocol = self.value(props.get("Protocol"))
            endpoint = self.value(props.get("Endpoint"))
        except Unresolvable:
            return None
        if protocol != "sqs":
            return None
        attrs = {}
        if props.get("RawMessageDelivery") in (True, "true"):
            attrs["RawMessageDelivery"] = "true"
        result = self.client("sns").subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=endpoint, Attributes=attrs
        )
        return str(result["SubscriptionArn"])

    def _table(self, lid: str, props: Mapping[str, Any]) -> None:
        name = physical_name(lid, "AWS::DynamoDB::Table", props, self.stack)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props.get("AttributeDefinitions") or [],
            "KeySchema": props.get("KeySchema") or [],
            "BillingMode": props.get("BillingMode") or "PAY_PER_REQUEST",
        }
        throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props.get("ProvisionedThroughput") or throughput
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            indexes = props.get(key)
            if indexes:
                kwargs[key] = [
                    {
                        k: v
                        for k, v in dict(i).items()
                        if k in ("IndexName", "KeySchema", "Projection")
                    }
                    | (
                        {"ProvisionedThroughput": i.get("ProvisionedThroughput") or throughput}
                        if kwargs["BillingMode"] == "PROVISIONED" and key.startswith("Global")
                        else {}
                    )
                    for i in indexes
                ]
        ddb = self.client("dynamodb")
        try:
            arn = ddb.create_table(**kwargs)["TableDescription"]["TableArn"]
        except ddb.exceptions.ResourceInUseException:
            arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        self._record(lid, "AWS::DynamoDB::Table", {"Ref": name, "Arn": arn})

    def _secret(self, lid: str, props: Mapping[str, Any]) -> None:
        name = physical_name(lid, "AWS::SecretsManager::Secret", props, self.stack)
        try:
            secret = self.value(props.get("SecretString", "{}"))
        except Unresolvable:
            secret = "{}"
        arn = self.secret(name, secret)
        self._record(lid, "AWS::SecretsManager::Secret", {"Ref": arn, "Id": arn})

    def secret(self, name: str, value: str) -> str:
        """Create (or overwrite) a secret; returns its ARN."""
        sm = self.client("secretsmanager")
        try:
            return str(sm.create_secret(Name=name, SecretString=value)["ARN"])
        except sm.exceptions.ResourceExistsException:
            return str(sm.put_secret_value(SecretId=name, SecretString=value)["ARN"])
