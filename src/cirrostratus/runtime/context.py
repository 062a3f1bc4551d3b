"""The `context` object a Lambda handler receives, with the attributes tasks actually read."""

from __future__ import annotations

import time
from typing import Any


class LambdaContext:
    """Like the Lambda runtime's context: request id, names, memory and the time left."""

    function_version = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def __init__(
        self,
        *,
        aws_request_id: str,
        function_name: str,
        memory_limit_in_mb: int,
        invoked_function_arn: str,
        log_group_name: str,
        log_stream_name: str,
        deadline: float,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.function_name = function_name
        # Lambda's runtime exposes this as a string read from the environment
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until this invocation times out (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"
