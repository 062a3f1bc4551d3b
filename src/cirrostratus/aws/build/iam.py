"""IAM for the generated resources: a role per function, per state machine, per Batch task.

A function's role holds its `lambda.iamRoleStatements`, the top-level `iamRoleStatements`
that `cirrus create` writes (Cirrus 0.9 drops those, so such tasks run under one shared role;
we honour them, as the seed's "a unique role per task" advises), logging to its own log group,
and for the builtins what their handler touches (CORE_ACCESS).
"""

from __future__ import annotations

from typing import Any

LAMBDA_VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"

_TABLES = [
    {"Fn::GetAtt": ["StateTable", "Arn"]},
    {"Fn::Sub": "${StateTable.Arn}/index/*"},
]
_BUCKETS = [
    {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Data}"},
    {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Data}/*"},
    {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Payloads}"},
    {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Payloads}/*"},
]
_STATE_MACHINES = {
    "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:*"
}
_EXECUTIONS = {
    "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:*"
}


def _allow(actions: list[str], resources: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def core_access(name: str, events_table: bool) -> list[dict[str, Any]]:
    """What each builtin handler does with the stack's resources, and nothing more."""
    tables = [*_TABLES]
    if events_table:
        tables.append({"Fn::GetAtt": ["StateEventsTable", "Arn"]})
    dynamo_rw = _allow(
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
        ],
        tables,
    )
    dynamo_read = _allow(
        ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"], tables
    )
    s3_rw = _allow(["s3:GetObject", "s3:PutObject", "s3:ListBucket"], _BUCKETS)
    s3_read_any = _allow(["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"], "*")
    queue = {"Fn::GetAtt": ["ProcessQueue", "Arn"]}
    topics = [{"Ref": "PublishTopic"}, {"Ref": "FailedTopic"}]
    send = _allow(["sqs:SendMessage", "sqs:GetQueueUrl"], [queue])
    publish = _allow(["sns:Publish"], topics)
    table: dict[str, list[dict[str, Any]]] = {
        "process": [
            dynamo_rw,
            s3_rw,
            _allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [queue]),
            _allow(["sqs:SendMessage"], [{"Fn::GetAtt": ["ProcessDeadLetterQueue", "Arn"]}]),
            _allow(
                ["states:StartExecution", "states:DescribeExecution"],
                [_STATE_MACHINES, _EXECUTIONS],
            ),
        ],
        "update-state": [
            dynamo_rw,
            s3_rw,
            send,
            publish,
            _allow(["states:DescribeExecution", "states:GetExecutionHistory"], [_EXECUTIONS]),
            _allow(["sqs:SendMessage"], [{"Fn::GetAtt": ["UpdateStateDLQ", "Arn"]}]),
        ],
        "api": [
            dynamo_read,
            s3_rw,
            send,
            _allow(["states:DescribeExecution", "states:GetExecutionHistory"], [_EXECUTIONS]),
        ],
        "pre-batch": [s3_rw],
        "post-batch": [
            s3_rw,
            _allow(["logs:GetLogEvents", "logs:DescribeLogStreams"], "*"),
            _allow(["batch:DescribeJobs"], "*"),
        ],
        "publish": [
            s3_rw,
            s3_read_any,
            publish,
            dynamo_rw,  # set_outputs on the state record, as Cirrus's publish does
            _allow(
                ["secretsmanager:GetSecretValue"],
                [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:cirrus*"
                    }
                ],
            ),
        ],
        "feed-rerun": [dynamo_read, s3_rw, send],
    }
    return table.get(name, [])


def lambda_role(
    function_name: Any, statements: list[Any], *, vpc: bool, path: str = "/"
) -> dict[str, Any]:
    """An execution role: logs to its own group, then `statements`."""
    log_arn = {
        "Fn::Sub": [
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${Name}:*",
            {"Name": function_name},
        ]
    }
    policy_statements = [
        _allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_arn]),
        *statements,
    ]
    props: dict[str, Any] = {
        "Path": path,
        "AssumeRolePolicyDocument": _trust("lambda.amazonaws.com"),
        "Policies": [
            {
                "PolicyName": "cirro-function",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": policy_statements},
            }
        ],
    }
    if vpc:
        props["ManagedPolicyArns"] = [LAMBDA_VPC_POLICY]
    return {"Type": "AWS::IAM::Role", "Properties": props}


def service_role(service: str, statements: list[Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"Path": "/", "AssumeRolePolicyDocument": _trust(service)}
    if statements:
        props["Policies"] = [
            {
                "PolicyName": "cirro",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ]
    return {"Type": "AWS::IAM::Role", "Properties": props}


def job_role_statements() -> list[dict[str, Any]]:
    """Cirrus's job role: write the data and payload buckets, read any, its secrets."""
    return [
        _allow(["s3:PutObject"], [_BUCKETS[1], _BUCKETS[3]]),
        _allow(["s3:ListBucket", "s3:GetObject", "s3:GetBucketLocation"], "*"),
        _allow(
            ["secretsmanager:GetSecretValue"],
            [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:cirrus*"
                }
            ],
        ),
    ]


def _trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": [service]}, "Action": ["sts:AssumeRole"]}
        ],
    }
