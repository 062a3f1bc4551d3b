"""The publish Lambda: items to S3 (the builtin publish task), announced on SNS as Cirrus does.

1. The builtin publish task writes each item to `<CIRRUS_DATA_BUCKET>/<path_template>/<id>.json`
   with `self` and `canonical` links, `created` kept from an existing object, `updated` now.
   With `process.tasks.publish.public`, the links are https URLs and the object public-read.
2. Each item is published to `CIRRUS_PUBLISH_TOPIC_ARN`, then to the deprecated comma list
   `CIRRUS_PUBLISH_SNS`, then to the payload's `process.tasks.publish.sns` topics, with
   Cirrus's message attributes (`collection`, `bbox.ll_lon`…, `start_datetime`,
   `end_datetime`, `datetime`, `cloud_cover`, `status` created|updated; at most 10).
3. The record's `outputs` are set (Cirrus's `set_outputs`; the state is unchanged).

Errors are Cirrus's: `publish: failed publishing output items (…)` and
`publish: failed setting statedb outputs (…)`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cirrostratus.aws.handlers import env


def item_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """Cirrus's SNS message attributes of a published item (numbers stay numbers)."""
    props = item.get("properties") or {}
    attrs: dict[str, Any] = {"collection": item.get("collection")}
    bbox = item.get("bbox") or []
    if len(bbox) >= 4:
        half = len(bbox) // 2
        attrs |= {
            "bbox.ll_lon": bbox[0],
            "bbox.ll_lat": bbox[1],
            "bbox.ur_lon": bbox[half],
            "bbox.ur_lat": bbox[half + 1],
        }
    attrs["start_datetime"] = props.get("start_datetime") or props.get("datetime")
    attrs["end_datetime"] = props.get("end_datetime") or props.get("datetime")
    attrs["datetime"] = props.get("datetime")
    attrs["cloud_cover"] = props.get("eo:cloud_cover")
    created, updated = props.get("created"), props.get("updated")
    attrs["status"] = "created" if created == updated else "updated"
    return {k: v for k, v in attrs.items() if v is not None}


def public_url(url: str) -> str:
    """`s3://bucket/key` → `https://bucket.s3.amazonaws.com/key` (Cirrus's public URLs)."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return f"https://{bucket}.s3.amazonaws.com/{key}"


def make_public(items: list[dict[str, Any]], urls: list[str]) -> list[str]:
    """`public: true`: each item's self/canonical links become https URLs and the object is
    written again with a public-read ACL, as Cirrus's publish does. Returns the new URLs."""
    import orjson

    s3 = env.client("s3")
    out = []
    for item, url in zip(items, urls, strict=True):
        if not url.startswith("s3://"):
            out.append(url)
            continue
        https = public_url(url)
        for link in item.get("links", []):
            if link.get("rel") in ("self", "canonical"):
                link["href"] = https
        bucket, _, key = url.removeprefix("s3://").partition("/")
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=orjson.dumps(item, option=orjson.OPT_INDENT_2),
            ContentType="application/json",
            ACL="public-read",
        )
        out.append(https)
    return out


def topics(payload_tasks: Mapping[str, Any]) -> list[str]:
    """Every topic ARN an item goes to, in Cirrus's order, without repeats."""
    arns = [os.environ.get("CIRRUS_PUBLISH_TOPIC_ARN", "")]
    arns += os.environ.get("CIRRUS_PUBLISH_SNS", "").split(",")
    extra = (payload_tasks.get("publish") or {}).get("sns") or []
    arns += [str(a) for a in (extra if isinstance(extra, list) else [extra])]
    return list(dict.fromkeys(a.strip() for a in arns if a and a.strip()))


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    from cirrostratus.engine.sns import SnsNotifier
    from cirrostratus.payload import Payload, resolve
    from cirrostratus.storage import read_url

    payload = Payload.from_dict(resolve(event, read_url))
    builtin = env.builtin("tasks", "publish")
    try:
        urls = builtin.publish_items(payload, env.data_root(), os.environ.get("CIRRUS_API_URL"))
        if (payload.tasks.get("publish") or {}).get("public"):
            urls = make_public(payload.features, urls)
        arns = topics(payload.tasks)
        notifier = SnsNotifier({a: a for a in arns}, client=env.client("sns"))
        for item in payload.features:
            for arn in arns:
                notifier.publish(arn, item, item_attributes(item))
    except Exception as exc:
        raise Exception(f"publish: failed publishing output items ({exc})") from exc
    if os.environ.get("CIRRUS_STATE_DB"):
        try:
            env.state_store().set_outputs(payload.id, urls)
        except Exception as exc:
            raise Exception(f"publish: failed setting statedb outputs ({exc})") from exc
    result: dict[str, Any] = payload.to_dict()
    return result
