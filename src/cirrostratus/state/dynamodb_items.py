"""Cirrus's DynamoDB state table schema, both ways: a record ↔ a DynamoDB item.

Cirrus 0.9 (`cirrus.lib2.statedb`) keys a record by `collections_workflow`
(`"<collections>_<workflow>"`) and `itemids`, and keeps `state_updated` (`"<STATE>_<iso>"`),
`created`, `updated`, `executions` (a list of execution ARNs), `outputs` and `last_error`.
We write exactly those, so Cirrus reads our records, and add three attributes of our own
that Cirrus ignores: `state_changed`, `lease_until` (a claim's lease) and `execution_details`
(start, end and status of each execution, parallel to `executions`). A record written by
Cirrus has none of them; reading it, they are derived (see `row_from_item`).

Items here are in DynamoDB's low-level wire format (`{"S": ...}`), so the store needs only
botocore's client and no `boto3.dynamodb.types` Decimal handling.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.state import rules
from cirrostratus.state.model import State, StateStoreError, id_parts

Item = dict[str, Any]

#: Our own attributes, unknown to Cirrus (which leaves them alone: it only SETs its own).
EXTRA = ("state_changed", "lease_until", "execution_details")

#: What the status of the last execution is when Cirrus wrote the record (it keeps no status).
_LAST_STATUS = {
    State.CLAIMED: "PENDING",
    State.PROCESSING: "RUNNING",
    State.COMPLETED: "SUCCEEDED",
    State.FAILED: "FAILED",
    State.INVALID: "FAILED",
    State.ABORTED: "ABORTED",
}


def encode(value: Any) -> Item:
    """A Python value in DynamoDB's wire format (strings, numbers, lists, maps, null)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, list | tuple):
        return {"L": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {str(k): encode(v) for k, v in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def decode(attr: Item) -> Any:
    """The inverse of `encode` (string sets become lists; numbers int when whole)."""
    kind, value = next(iter(attr.items()))
    if kind == "S":
        return value
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return bool(value)
    if kind == "B":
        return bytes(value)
    if kind == "L":
        return [decode(v) for v in value]
    if kind == "M":
        return {k: decode(v) for k, v in value.items()}
    if kind in ("SS", "NS"):
        return list(value)
    raise StateStoreError(f"unexpected DynamoDB attribute type {kind!r}")


def key_of(payload_id: str) -> Item:
    """The table key of a payload id, as Cirrus's `payload_id_to_key`."""
    collections, workflow, itemids = id_parts(payload_id)
    return {
        "collections_workflow": {"S": f"{collections}_{workflow}"},
        "itemids": {"S": itemids},
    }


def collections_workflow(collections: str, workflow: str) -> str:
    return f"{collections}_{workflow}"


def payload_id_of(item: Item) -> str:
    """Cirrus's `key_to_payload_id`: `rsplit("_", 1)`, so a workflow named with `_` does not
    round-trip (as in Cirrus; `cirro validate` warns about such workflow names)."""
    cw = str(item["collections_workflow"]["S"])
    collections, _, workflow = cw.rpartition("_")
    itemids = str(item["itemids"]["S"])
    return (
        f"{collections}/workflow-{workflow}/{itemids}"
        if itemids
        else f"{collections}/workflow-{workflow}"
    )


def split_state_updated(value: str) -> tuple[State, str]:
    state, _, when = value.partition("_")
    try:
        return State(state), when
    except ValueError:
        raise StateStoreError(
            f"state_updated {value!r} does not start with a state ({', '.join(State)})"
        ) from None


def row_from_item(item: Item) -> rules.Row:
    """A record as the rules work on it, from a Cirrus-schema item (ours or Cirrus's)."""
    data = {k: decode(v) for k, v in item.items()}
    payload_id = payload_id_of(item)
    collections, workflow, itemids = id_parts(payload_id)
    state, state_time = split_state_updated(str(data["state_updated"]))
    updated = str(data.get("updated") or state_time)
    arns = [str(a) for a in data.get("executions") or []]
    details = {str(d.get("id")): d for d in data.get("execution_details") or [] if d}
    executions: list[dict[str, Any]] = []
    for i, arn in enumerate(arns):
        detail = details.get(arn)
        if detail is None:
            last = i == len(arns) - 1
            status = _LAST_STATUS[state] if last else "UNKNOWN"
            detail = {"id": arn, "start": None, "end": None, "status": status}
        executions.append(detail)
    return rules.Row(
        payload_id=payload_id,
        collections=collections,
        workflow=workflow,
        itemids=itemids,
        state=state,
        created=str(data.get("created") or updated),
        updated=updated,
        state_changed=_state_changed(data, state, state_time, updated),
        executions=executions,
        outputs=[str(o) for o in data.get("outputs") or []],
        last_error=data.get("last_error"),
        lease_until=data.get("lease_until"),
    )


def _state_changed(data: dict[str, Any], state: State, state_time: str, updated: str) -> str:
    """Our `state_changed` while `state_updated` still agrees with it; once Cirrus rewrote
    `state_updated` (it stamps every state write), the time in `state_updated`. So
    `f"{state}_{state_changed}"` is always the stored `state_updated`, which the store's
    conditional writes compare against."""
    ours = data.get("state_changed")
    if ours and f"{state}_{ours}" == data.get("state_updated"):
        return str(ours)
    return state_time or updated


def update_of(row: rules.Row) -> tuple[str, dict[str, str], Item]:
    """`UpdateExpression`, names and values that write `row` over whatever is stored.

    An update (not a put) so attributes another writer added survive, as Cirrus's own
    writers only SET what they change.
    """
    values: dict[str, Any] = {
        "created": row.created,
        "updated": row.updated,
        "state_updated": f"{row.state}_{row.state_changed}",
        "state_changed": row.state_changed,
        "executions": [str(e["id"]) for e in row.executions],
        "execution_details": row.executions,
        "outputs": row.outputs,
    }
    removes: list[str] = []
    for name in ("last_error", "lease_until"):
        value = getattr(row, name)
        if value is None:
            removes.append(name)
        else:
            values[name] = value
    names = {f"#{k}": k for k in [*values, *removes]}
    expr = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
    if removes:
        expr += " REMOVE " + ", ".join(f"#{k}" for k in removes)
    return expr, names, {f":{k}": encode(v) for k, v in values.items()}
