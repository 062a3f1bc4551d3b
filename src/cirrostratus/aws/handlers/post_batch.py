"""The post-batch Lambda: the Batch job's output payload, or its own error from CloudWatch.

The builtin post-batch task: on success it reads `<Parameters.url>` with `.json` →
`_out.json`; with an `error` (the workflow's Catch) it reads the last line of the job's log
stream (`Cause` → `Attempts[-1].Container.LogStreamName`, log group `/aws/batch/job`),
parses `ErrorType: message` with Cirrus's pattern and raises an exception of that type, so
Step Functions (and update-state: `InvalidInput` → INVALID) sees the task's error.
`CIRRUS_LOG_DIR` is removed here so the log is always read from CloudWatch.
"""

from __future__ import annotations

import os
from typing import Any

from cirrostratus.aws.handlers import env


def lambda_handler(event: Any, context: Any = None) -> Any:
    os.environ.pop("CIRRUS_LOG_DIR", None)
    bucket = os.environ.get("CIRRUS_PAYLOAD_BUCKET")
    if bucket:
        os.environ["CIRRUS_PAYLOAD_BUCKET"] = env.bucket_url(bucket)
    return env.builtin("tasks", "post-batch").lambda_handler(event, context)
