"""DynamoDB items that outlive the process: one JSON file per table under `.cirro/aws/`.

moto keeps tables in memory. Items are small and few next to objects (Cirrus writes one per
payload), so a whole-table snapshot is cheap: saved when the engine closes and every
`SAVE_EVERY_S` while it runs, restored when the next one starts. The file holds the items
in DynamoDB's own typed JSON (`{"S": "…"}`), so nothing is lost in a round trip; it is
written to a temp file and renamed, so a crash mid-save leaves the previous snapshot.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
SAVE_EVERY_S = 30.0
BATCH = 25  # DynamoDB's batch_write_item limit


def snapshot_path(folder: Path, table: str) -> Path:
    return folder / f"{table}.json"


def save_tables(client: Any, tables: Iterable[str], folder: Path) -> int:
    """Write each table's items to `<folder>/<table>.json`; returns how many items."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for table in tables:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = client.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        target = snapshot_path(folder, table)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"table": table, "items": items}))
        os.replace(tmp, target)
        total += len(items)
    return total


def restore_tables(client: Any, tables: Iterable[str], folder: Path) -> int:
    """Put back the items saved for these tables; returns how many items."""
    total = 0
    for table in tables:
        path = snapshot_path(folder, table)
        if not path.is_file():
            continue
        try:
            items = json.loads(path.read_text())["items"]
        except (ValueError, KeyError) as exc:
            logger.warning("%s cannot be read (%s): table %s starts empty", path, exc, table)
            continue
        for start in range(0, len(items), BATCH):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH]]
            pending: dict[str, Any] = {table: requests}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        total += len(items)
    return total


class PeriodicSaver:
    """Calls `save` every `every` seconds on a daemon thread until stopped."""

    def __init__(self, save: Callable[[], object], every: float = SAVE_EVERY_S) -> None:
        self._save = save
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-aws-saver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._save()
            except Exception as exc:  # a failed save is retried at the next tick or close
                logger.warning("local AWS tables not saved: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
