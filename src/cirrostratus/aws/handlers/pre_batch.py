"""The pre-batch Lambda: the builtin pre-batch task, with the payload bucket made a URL.

Stores the payload at `s3://<CIRRUS_PAYLOAD_BUCKET>/batch/<payload id>/<uuid1>.json` and
returns `{"url", "url_out"}` for the Batch job's parameters (Cirrus 0.9 returned `url`;
`url_out` is v0.10's and harmless before it).
"""

from __future__ import annotations

import os
from typing import Any

from cirrostratus.aws.handlers import env


def lambda_handler(event: Any, context: Any = None) -> dict[str, str]:
    os.environ["CIRRUS_PAYLOAD_BUCKET"] = env.bucket_url(env.need("CIRRUS_PAYLOAD_BUCKET"))
    result: dict[str, str] = env.builtin("tasks", "pre-batch").lambda_handler(event, context)
    return result
