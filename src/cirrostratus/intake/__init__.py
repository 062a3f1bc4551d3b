"""The intake queue: payloads wait here, leased to one processor at a time, until handled.

`SqliteIntakeQueue` (default file `.cirro/intake.db`) is the local twin of the SQS process
queue with its dead-letter queue. See docs/state.md.
"""

from cirrostratus.intake.model import (
    Body,
    DeadLetter,
    IntakeError,
    Message,
    QueueCounts,
    Waiting,
)
from cirrostratus.intake.protocol import IntakeQueue
from cirrostratus.intake.sqlite import (
    DEFAULT_MAX_RECEIVES,
    DEFAULT_PATH,
    DEFAULT_VISIBILITY_TIMEOUT,
    SqliteIntakeQueue,
)

__all__ = [
    "DEFAULT_MAX_RECEIVES",
    "DEFAULT_PATH",
    "DEFAULT_VISIBILITY_TIMEOUT",
    "Body",
    "DeadLetter",
    "IntakeError",
    "IntakeQueue",
    "Message",
    "QueueCounts",
    "SqliteIntakeQueue",
    "Waiting",
]
