"""The builtin pre-batch task: hand a payload to a Batch job by URL.

Batch job parameters are small, so Cirrus stores the payload in the payload store at
`batch/<payload id>/<uuid1>.json` and passes only the URL (`url.$: $.url` in the workflow).
The job (`run <function> <url>`) writes its answer next to it as `<name>_out.json`, which
post-batch reads. Works on a local folder (file:// URLs) and on s3:// alike.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import orjson

from cirrostratus.payload import Payload, batch_output_url, resolve
from cirrostratus.storage import open_store, payload_key, read_url


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, str]:
    """Store the payload; return `{"url": <stored>, "url_out": <where the job will answer>}`."""
    try:
        payload = resolve(event, read_url)
        bucket = os.environ.get("CIRRUS_PAYLOAD_BUCKET")
        if not bucket:
            raise ValueError("CIRRUS_PAYLOAD_BUCKET is not set")
        payload_id = payload.get("id") or Payload.from_dict(payload).id
        key = payload_key(f"batch/{payload_id}", f"{uuid.uuid1()}.json")  # fits any id
        url = open_store(bucket).put_bytes(key, orjson.dumps(payload))
    except Exception as err:
        raise Exception(f"pre-batch: failed pre processing batch job for ({err})") from err
    return {"url": url, "url_out": batch_output_url(url)}
