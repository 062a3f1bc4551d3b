"""SQLite files shared by the state store, the intake queue and the engine's histories:
connections safe for many processes (WAL, busy timeouts, retries) and ordered migrations.

It sits below `state` and `intake` so neither has to import the other.
"""

from cirrostratus.sqlitedb.connection import (
    BUSY_TIMEOUT_MS,
    connect,
    is_busy,
    is_damaged,
    retry,
    write_transaction,
)
from cirrostratus.sqlitedb.migrate import DatabaseError, migrate, open_database

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DatabaseError",
    "connect",
    "is_busy",
    "is_damaged",
    "migrate",
    "open_database",
    "retry",
    "write_transaction",
]
