"""The two DynamoDB tables the AWS backends use, as CreateTable arguments.

The state table is Cirrus 0.9's (`<stack>-state`: keys `collections_workflow` + `itemids`,
GSIs `state_updated` and `updated`, both projecting ALL, PAY_PER_REQUEST); the events table
is ours (`pk` + `sk`, TTL `expires_at`). The build writes the same definitions into the
CloudFormation template; tests and `create_tables` make them directly.
"""

from __future__ import annotations

from typing import Any


def state_table(name: str) -> dict[str, Any]:
    """CreateTable arguments for Cirrus's state table."""

    def gsi(index: str) -> dict[str, Any]:
        return {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": "collections_workflow", "KeyType": "HASH"},
                {"AttributeName": index, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"}
            for a in ("collections_workflow", "itemids", "state_updated", "updated")
        ],
        "KeySchema": [
            {"AttributeName": "collections_workflow", "KeyType": "HASH"},
            {"AttributeName": "itemids", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [gsi("state_updated"), gsi("updated")],
    }


def events_table(name: str) -> dict[str, Any]:
    """CreateTable arguments for the state events table (enable TTL on `expires_at` after)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    }


def create_tables(client: Any, state: str, events: str | None = None) -> None:
    """Create the state table (and the events table with its TTL) and wait for them."""
    client.create_table(**state_table(state))
    names = [state]
    if events:
        client.create_table(**events_table(events))
        names.append(events)
    waiter = client.get_waiter("table_exists")
    for name in names:
        waiter.wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    if events:
        client.update_time_to_live(
            TableName=events,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
