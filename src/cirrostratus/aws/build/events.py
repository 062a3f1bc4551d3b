"""A function's Serverless `lambda.events`, as the plain CloudFormation Serverless made of them.

Cirrus 0.9 passed `lambda.events` through to Serverless. The common kinds become:
- `schedule` (a rate/cron expression, or {rate, enabled, input, inputPath, name,
  description}) → an Events::Rule per expression and a Lambda::Permission for it;
- `sqs` (an ARN, or {arn, batchSize, maximumBatchingWindow, functionResponseType, enabled,
  filterPatterns, maximumConcurrency}) → a Lambda::EventSourceMapping, and the role may read
  and delete the queue's messages;
- `sns` (a topic ARN, a topic name — then the topic is created — or {arn, topicName,
  filterPolicy, filterPolicyScope, displayName}) → an SNS::Subscription and a Permission;
- `eventBridge` ({pattern and/or schedule, eventBus, input, inputPath, inputTransformer,
  enabled}) → an Events::Rule on that bus and a Permission.
Any other kind is a build error: a trigger that silently never fires is worse than a build
that stops and says where to declare it (cloudformation/). Ids follow Serverless's naming
(`<Fn>EventsRuleSchedule1`, `<Fn>EventSourceMappingSQS<Queue>`, `SNSTopic<Name>`, ...).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from cirrostratus.aws.build import names
from cirrostratus.aws.build.model import BuildError

SUPPORTED = ("schedule", "sqs", "sns", "eventBridge")
#: the builtins whose triggers cirro build wires itself (wiring.py)
WIRED = ("process", "update-state", "api")
_EXPRESSION = re.compile(r"^(rate|cron)\(.+\)$")


@dataclass
class Triggers:
    """What a function's events add: resources, and statements for the function's role."""

    resources: dict[str, Any] = field(default_factory=dict)
    statements: list[dict[str, Any]] = field(default_factory=list)


def _intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)).startswith(("Fn::", "Ref"))
    )


def _label(arn: Any, fallback: str) -> str:
    """A name for ids: the logical id an intrinsic names, else an ARN's last part."""
    if isinstance(arn, dict):
        if "Ref" in arn:
            return names.normalize(str(arn["Ref"]))
        target = arn.get("Fn::GetAtt")
        if isinstance(target, list) and target:
            return names.normalize(str(target[0]))
        if isinstance(target, str):
            return names.normalize(target.split(".")[0])
        sub = arn.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) and sub else sub
        if isinstance(text, str) and "$" not in text.rsplit(":", 1)[-1]:
            return names.normalize(text.rsplit(":", 1)[-1]) or fallback
    if isinstance(arn, str) and arn:
        return names.normalize(arn.rsplit(":", 1)[-1]) or fallback
    return fallback


class _Reader:
    """Reads one function's events, naming `<file>: lambda.events[i].<kind>.<key>` on errors."""

    def __init__(self, function: str, file: str) -> None:
        self.function = function
        self.file = file
        self.prefix = names.normalize(function)
        self.arn = {"Fn::GetAtt": [names.function_id(function), "Arn"]}
        self.out = Triggers()
        self.counts: dict[str, int] = {}

    def fail(self, where: str, message: str) -> BuildError:
        return BuildError(f"{self.file}: lambda.events{where} {message}")

    def count(self, kind: str) -> int:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.counts[kind]

    def add(self, logical_id: str, resource: dict[str, Any], where: str) -> None:
        if logical_id in self.out.resources:
            raise self.fail(where, f"makes {logical_id} a second time; list each source once")
        self.out.resources[logical_id] = resource

    def permission(self, logical_id: str, principal: str, source: Any, where: str) -> None:
        props = {
            "FunctionName": self.arn,
            "Action": "lambda:InvokeFunction",
            "Principal": principal,
            "SourceArn": source,
        }
        self.add(logical_id, {"Type": "AWS::Lambda::Permission", "Properties": props}, where)

    def target(self, config: dict[str, Any], where: str) -> dict[str, Any]:
        target: dict[str, Any] = {"Id": f"{self.function}-target"[:64], "Arn": self.arn}
        given = [k for k in ("input", "inputPath", "inputTransformer") if k in config]
        if len(given) > 1:
            raise self.fail(where, f"sets {' and '.join(given)}: use one of them")
        if "input" in config:
            value = config["input"]
            target["Input"] = value if isinstance(value, str) else json.dumps(value)
        if "inputPath" in config:
            target["InputPath"] = config["inputPath"]
        if "inputTransformer" in config:
            transformer = config["inputTransformer"]
            if not isinstance(transformer, dict) or "inputTemplate" not in transformer:
                raise self.fail(f"{where}.inputTransformer", "needs an inputTemplate")
            target["InputTransformer"] = {"InputTemplate": transformer["inputTemplate"]}
            if transformer.get("inputPathsMap"):
                target["InputTransformer"]["InputPathsMap"] = transformer["inputPathsMap"]
        return target

    # --- the kinds ---------------------------------------------------------------------

    def schedule(self, value: Any, where: str) -> None:
        config = value if isinstance(value, dict) else {"rate": value}
        rates = config.get("rate")
        rates = rates if isinstance(rates, list) else [rates]
        if not rates or rates == [None]:
            raise self.fail(where, "needs a rate: rate(10 minutes) or cron(0 12 * * ? *)")
        for rate in rates:
            if isinstance(rate, str) and not _EXPRESSION.match(rate.strip()):
                raise self.fail(
                    f"{where}.rate",
                    f"{rate!r} is not rate(...) or cron(...) (EventBridge's syntax)",
                )
            n = self.count("schedule")
            rule = f"{self.prefix}EventsRuleSchedule{n}"
            props: dict[str, Any] = {
                "ScheduleExpression": rate,
                "State": "ENABLED" if config.get("enabled", True) else "DISABLED",
                "Targets": [self.target(config, where)],
            }
            if config.get("name"):
                props["Name"] = config["name"] if len(rates) == 1 else f"{config['name']}-{n}"
            if config.get("description"):
                props["Description"] = config["description"]
            self.add(rule, {"Type": "AWS::Events::Rule", "Properties": props}, where)
            self.permission(
                f"{self.prefix}LambdaPermissionEventsRuleSchedule{n}",
                "events.amazonaws.com",
                {"Fn::GetAtt": [rule, "Arn"]},
                where,
            )

    def sqs(self, value: Any, where: str) -> None:
        config = value if isinstance(value, dict) and not _intrinsic(value) else {"arn": value}
        arn = config.get("arn")
        if not arn:
            raise self.fail(where, "needs the queue's arn (e.g. !GetAtt MyQueue.Arn)")
        props: dict[str, Any] = {
            "EventSourceArn": arn,
            "FunctionName": {"Ref": names.function_id(self.function)},
            "BatchSize": config.get("batchSize", 10),
            "Enabled": bool(config.get("enabled", True)),
        }
        if "maximumBatchingWindow" in config:
            props["MaximumBatchingWindowInSeconds"] = config["maximumBatchingWindow"]
        kind = config.get("functionResponseType")
        if kind is not None:
            if kind != "ReportBatchItemFailures":
                raise self.fail(
                    f"{where}.functionResponseType", "can only be ReportBatchItemFailures"
                )
            props["FunctionResponseTypes"] = [kind]
        patterns = config.get("filterPatterns")
        if patterns:
            if not isinstance(patterns, list):
                raise self.fail(f"{where}.filterPatterns", "must be a list of patterns")
            props["FilterCriteria"] = {
                "Filters": [
                    {"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns
                ]
            }
        if "maximumConcurrency" in config:
            props["ScalingConfig"] = {"MaximumConcurrency": config["maximumConcurrency"]}
        label = _label(arn, str(self.count("sqs")))
        mapping = {"Type": "AWS::Lambda::EventSourceMapping", "Properties": props}
        self.add(f"{self.prefix}EventSourceMappingSQS{label}", mapping, where)
        self.out.statements.append(
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": [arn],
            }
        )

    def sns(self, value: Any, where: str) -> None:
        if isinstance(value, str) and not value.startswith("arn:"):
            config: dict[str, Any] = {"topicName": value}
        elif isinstance(value, dict) and not _intrinsic(value):
            config = value
        else:
            config = {"arn": value}
        arn, name = config.get("arn"), config.get("topicName")
        if not arn and not name:
            raise self.fail(where, "needs a topic: its arn, or a topicName to create")
        label = names.normalize(str(name)) if isinstance(name, str) else _label(arn, "")
        label = label or str(self.count("sns"))
        if not arn:  # a name alone: Serverless made the topic; so do we
            topic: dict[str, Any] = {"TopicName": name}
            if config.get("displayName"):
                topic["DisplayName"] = config["displayName"]
            self.add(f"SNSTopic{label}", {"Type": "AWS::SNS::Topic", "Properties": topic}, where)
            arn = {"Ref": f"SNSTopic{label}"}
        props: dict[str, Any] = {"TopicArn": arn, "Protocol": "lambda", "Endpoint": self.arn}
        if config.get("filterPolicy"):
            props["FilterPolicy"] = config["filterPolicy"]
        if config.get("filterPolicyScope"):
            props["FilterPolicyScope"] = config["filterPolicyScope"]
        subscription = {"Type": "AWS::SNS::Subscription", "Properties": props}
        self.add(f"{self.prefix}SnsSubscription{label}", subscription, where)
        self.permission(f"{self.prefix}LambdaPermission{label}SNS", "sns.amazonaws.com", arn, where)

    def event_bridge(self, value: Any, where: str) -> None:
        if not isinstance(value, dict) or not (value.get("pattern") or value.get("schedule")):
            raise self.fail(where, "needs a pattern (an event pattern) or a schedule")
        n = self.count("eventBridge")
        rule = f"{self.prefix}EventBridgeRule{n}"
        props: dict[str, Any] = {
            "State": "ENABLED" if value.get("enabled", True) else "DISABLED",
            "Targets": [self.target(value, where)],
        }
        if value.get("pattern"):
            if not isinstance(value["pattern"], dict):
                raise self.fail(f"{where}.pattern", "must be a mapping (an event pattern)")
            props["EventPattern"] = value["pattern"]
        if value.get("schedule"):
            props["ScheduleExpression"] = value["schedule"]
        if value.get("eventBus") and value["eventBus"] != "default":
            props["EventBusName"] = value["eventBus"]
        if value.get("name"):
            props["Name"] = value["name"]
        self.add(rule, {"Type": "AWS::Events::Rule", "Properties": props}, where)
        self.permission(
            f"{self.prefix}EventBridgeLambdaPermission{n}",
            "events.amazonaws.com",
            {"Fn::GetAtt": [rule, "Arn"]},
            where,
        )


def translate(function: str, events: Any, file: str) -> Triggers:
    """The resources and role statements of `events` (already resolved: variables, `#{X}`,
    renames) for the function named `function`."""
    if events is None:
        return Triggers()
    if not isinstance(events, list):
        raise BuildError(f"{file}: lambda.events must be a list (- schedule: rate(1 hour), ...)")
    reader = _Reader(function, file)
    handlers = {
        "schedule": reader.schedule,
        "sqs": reader.sqs,
        "sns": reader.sns,
        "eventBridge": reader.event_bridge,
    }
    for i, event in enumerate(events):
        if not isinstance(event, dict) or len(event) != 1:
            raise reader.fail(f"[{i}]", "must be one mapping such as {schedule: rate(1 hour)}")
        kind, value = next(iter(event.items()))
        if kind not in handlers:
            raise reader.fail(
                f"[{i}].{kind}",
                "is not an event cirro build turns into CloudFormation (it does: "
                f"{', '.join(SUPPORTED)}); declare that trigger in cloudformation/ instead",
            )
        handlers[kind](value, f"[{i}].{kind}")
    return reader.out
