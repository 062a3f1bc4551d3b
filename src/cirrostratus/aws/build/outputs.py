"""The stack Outputs `cirro deployments add` reads (the contract with deploy).

Fixed names for the core resources, plus `<Workflow>StateMachineArn` per workflow (its
Description is `workflow <name>`), each present when its resource is in the template.
"""

from __future__ import annotations

from typing import Any

#: output name -> (resource logical id, value, description)
OUTPUT_NAMES: dict[str, tuple[str, Any, str]] = {
    "StateTableName": ("StateTable", {"Ref": "StateTable"}, "CIRRUS_STATE_DB"),
    "StateEventsTableName": (
        "StateEventsTable",
        {"Ref": "StateEventsTable"},
        "CIRRO_EVENTS_TABLE",
    ),
    "ProcessQueueUrl": ("ProcessQueue", {"Ref": "ProcessQueue"}, "CIRRUS_PROCESS_QUEUE_URL"),
    "ProcessQueueArn": (
        "ProcessQueue",
        {"Fn::GetAtt": ["ProcessQueue", "Arn"]},
        "the process queue's ARN",
    ),
    "ProcessDeadLetterQueueUrl": (
        "ProcessDeadLetterQueue",
        {"Ref": "ProcessDeadLetterQueue"},
        "payloads the process function gave up on",
    ),
    "PublishTopicArn": ("PublishTopic", {"Ref": "PublishTopic"}, "CIRRUS_PUBLISH_TOPIC_ARN"),
    "FailedTopicArn": ("FailedTopic", {"Ref": "FailedTopic"}, "CIRRUS_FAILED_TOPIC_ARN"),
    "DataBucketName": ("Data", {"Ref": "Data"}, "CIRRUS_DATA_BUCKET"),
    "PayloadBucketName": ("Payloads", {"Ref": "Payloads"}, "CIRRUS_PAYLOAD_BUCKET"),
    "ApiUrl": (
        "ApiGatewayDeployment",
        {
            "Fn::Sub": "https://${ApiGatewayRestApi}.execute-api.${AWS::Region}."
            "${AWS::URLSuffix}/__STAGE__"
        },
        "the state API (api function)",
    ),
}


def stack_outputs(
    resources: dict[str, Any], workflows: dict[str, str], stage: str
) -> dict[str, Any]:
    """`workflows` maps workflow names to their state machine logical ids."""
    out: dict[str, Any] = {}
    for name, (logical_id, value, description) in OUTPUT_NAMES.items():
        if logical_id not in resources:
            continue
        if name == "ApiUrl":
            value = {"Fn::Sub": value["Fn::Sub"].replace("__STAGE__", stage)}
        out[name] = {"Description": description, "Value": value}
    for workflow, sm_id in workflows.items():
        out[f"{sm_id}Arn"] = {"Description": f"workflow {workflow}", "Value": {"Ref": sm_id}}
    return out
