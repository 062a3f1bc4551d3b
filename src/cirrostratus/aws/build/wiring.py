"""What connects the builtins, as Cirrus 0.9's Serverless build wired them.

- ProcessQueue → process: a Lambda::EventSourceMapping (batches of 10, partial failures);
- Step Functions status changes → update-state: an Events::Rule and its Lambda::Permission;
- the api function behind an API Gateway RestApi (`ANY /` and `ANY /{proxy+}`, proxy
  integration), its Deployment as stage `<stage>`, and its Lambda::Permission.
Each piece is added only when the function it wires is deployed.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.aws.build import names


def process_queue(present: set[str]) -> dict[str, Any]:
    if "process" not in present:
        return {}
    return {
        "ProcessEventSourceMappingSQSProcessQueue": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["ProcessQueue", "Arn"]},
                "FunctionName": {"Ref": names.function_id("process")},
                "BatchSize": 10,
                "Enabled": True,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        }
    }


def status_changes(present: set[str], state_machines: list[str]) -> dict[str, Any]:
    if "update-state" not in present or not state_machines:
        return {}
    fid = names.function_id("update-state")
    return {
        "UpdateDashstateEventsRuleStepFunctions": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "Step Functions execution status changes of this stack's workflows",
                "State": "ENABLED",
                "EventPattern": {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {
                        "status": ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"],
                        "stateMachineArn": [{"Ref": sm} for sm in state_machines],
                    },
                },
                "Targets": [{"Id": "update-state", "Arn": {"Fn::GetAtt": [fid, "Arn"]}}],
            },
        },
        "UpdateDashstateLambdaPermissionEventsRule": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Fn::GetAtt": [fid, "Arn"]},
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": ["UpdateDashstateEventsRuleStepFunctions", "Arn"]},
            },
        },
    }


def rest_api(present: set[str], service: str, stage: str) -> dict[str, Any]:
    if "api" not in present:
        return {}
    fid = names.function_id("api")
    uri = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path"
        f"/2015-03-31/functions/${{{fid}.Arn}}/invocations"
    }
    integration = {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri}
    return {
        "ApiGatewayRestApi": {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": f"{stage}-{service}",
                "EndpointConfiguration": {"Types": ["EDGE"]},
            },
        },
        "ApiGatewayResourceProxyVar": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "ParentId": {"Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"]},
                "PathPart": "{proxy+}",
                "RestApiId": {"Ref": "ApiGatewayRestApi"},
            },
        },
        "ApiGatewayMethodAny": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "HttpMethod": "ANY",
                "AuthorizationType": "NONE",
                "ResourceId": {"Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"]},
                "RestApiId": {"Ref": "ApiGatewayRestApi"},
                "Integration": integration,
            },
        },
        "ApiGatewayMethodProxyVarAny": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "HttpMethod": "ANY",
                "AuthorizationType": "NONE",
                "ResourceId": {"Ref": "ApiGatewayResourceProxyVar"},
                "RestApiId": {"Ref": "ApiGatewayRestApi"},
                "RequestParameters": {"method.request.path.proxy": True},
                "Integration": integration,
            },
        },
        "ApiGatewayDeployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": ["ApiGatewayMethodAny", "ApiGatewayMethodProxyVarAny"],
            "Properties": {"RestApiId": {"Ref": "ApiGatewayRestApi"}, "StageName": stage},
        },
        "ApiLambdaPermissionApiGateway": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Fn::GetAtt": [fid, "Arn"]},
                "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                    "${AWS::AccountId}:${ApiGatewayRestApi}/*/*"
                },
            },
        },
    }
