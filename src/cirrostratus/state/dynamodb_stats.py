"""Cirrus's `/stats` from the DynamoDB events table, each closed day read only once.

Reading 60 days of transition items on every request would grow with traffic (a million
transitions a day is a million items a day). So a day that is over (`CLOSE_AFTER` past
midnight UTC) is summarized the first time `/stats` needs it, and the summary is kept as
one item: `pk = "summary"`, `sk = <YYYY-MM-DD>`, `data` the JSON
`{"day": {STATE: [count, unique]}, "hours": {"HH": {STATE: [count, unique]}}}`, with the same
TTL as the events. After that a request reads one query of summaries plus today's (and, in
the first hours of a day, yesterday's) transitions. Counts are transitions into a state;
unique counts are distinct payload ids, per day and per hour as Cirrus's Timestream
queries counted them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from cirrostratus.state.model import STATES, iso

#: How long after midnight UTC a day counts as over (no transition of it is still coming).
CLOSE_AFTER = timedelta(minutes=5)
Counts = dict[str, tuple[int, int]]  # state → (count, unique)
Row = tuple[str, str, str]  # (iso time, to_state, payload id)


def summarize(rows: Iterable[Row]) -> dict[str, Any]:
    """A day's transitions as `{"day": Counts, "hours": {"HH": Counts}}`."""
    day: dict[str, tuple[int, set[str]]] = {}
    hours: dict[str, dict[str, tuple[int, set[str]]]] = {}
    for when, state, pid in rows:
        for table in (day, hours.setdefault(when[11:13], {})):
            count, ids = table.get(state, (0, set()))
            ids.add(pid)
            table[state] = (count + 1, ids)

    def flat(table: dict[str, tuple[int, set[str]]]) -> dict[str, list[int]]:
        return {s: [c, len(ids)] for s, (c, ids) in table.items()}

    return {"day": flat(day), "hours": {h: flat(t) for h, t in hours.items()}}


def _bin(period: datetime, interval: str, counts: dict[str, Any]) -> dict[str, Any]:
    label = period.strftime("%Y-%m-%d" if interval == "day" else "%Y-%m-%dT%H:%M:%SZ")
    states = []
    for state in STATES:
        count, unique = counts.get(str(state), (0, 0))
        states.append({"state": str(state), "unique_count": unique, "count": count})
    return {"period": label, "interval": interval, "states": states}


def _rolling(rows: list[Row], start: datetime, end: datetime) -> dict[str, Any]:
    lo, hi = iso(start), iso(end)
    inside = [r for r in rows if lo <= r[0] < hi]
    return _bin(start, "hour", summarize(inside)["day"])


class StatsReader:
    """Builds `/stats` over a `DynamoEvents` (its client, table, partitions and clock)."""

    def __init__(self, events: Any) -> None:
        self.events = events

    def _rows(self, day: date, since: str | None = None) -> list[Row]:
        extra: dict[str, Any] = {
            "ProjectionExpression": "#t, to_state, payload_id",
            "ExpressionAttributeNames": {"#t": "time"},
        }
        if since is not None:
            extra["KeyConditionExpression"] = "pk = :pk AND sk >= :since"
            extra["ExpressionAttributeValues"] = {
                ":pk": {"S": f"day#{day}"},
                ":since": {"S": since},
            }
        out = []
        for item in self.events._partition(f"day#{day}", **extra):
            state = item.get("to_state", {}).get("S")
            if state:
                out.append((item["time"]["S"], state, item["payload_id"]["S"]))
        return out

    def _summaries(self, first: date, last: date) -> dict[str, dict[str, Any]]:
        out = {}
        for item in self.events._partition(
            "summary",
            KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":pk": {"S": "summary"},
                ":a": {"S": str(first)},
                ":b": {"S": str(last)},
            },
        ):
            out[item["sk"]["S"]] = orjson.loads(item["data"]["S"])
        return out

    def _keep(self, day: date, summary: dict[str, Any]) -> None:
        from cirrostratus.state.dynamodb_events import RETENTION

        expires = datetime(day.year, day.month, day.day, tzinfo=UTC) + RETENTION
        self.events.client.put_item(
            TableName=self.events.table,
            Item={
                "pk": {"S": "summary"},
                "sk": {"S": str(day)},
                "data": {"S": orjson.dumps(summary).decode()},
                "expires_at": {"N": str(int(expires.timestamp()))},
            },
        )

    def stats(self, now: datetime) -> dict[str, Any]:
        now = now.astimezone(UTC)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        days = [(today - timedelta(days=59 - i)).date() for i in range(60)]
        kept = self._summaries(days[0], days[-1])
        per_day: dict[str, dict[str, Any]] = {}
        for day in days:
            summary = kept.get(str(day))
            if summary is None:
                summary = summarize(self._rows(day))
                closed = now - datetime(day.year, day.month, day.day, tzinfo=UTC) >= (
                    timedelta(days=1) + CLOSE_AFTER
                )
                if closed:
                    self._keep(day, summary)
            per_day[str(day)] = summary
        daily = [
            _bin(datetime(d.year, d.month, d.day, tzinfo=UTC), "day", per_day[str(d)]["day"])
            for d in days
        ]
        hour = now.replace(minute=0, second=0, microsecond=0)
        hourly = []
        for i in range(36):
            start = hour - timedelta(hours=35 - i)
            hours = per_day[str(start.date())]["hours"]
            hourly.append(_bin(start, "hour", hours.get(start.strftime("%H"), {})))
        edges = [
            now - timedelta(hours=2),
            now - timedelta(hours=1),
            now + timedelta(microseconds=1),
        ]
        recent: list[Row] = []
        for day in sorted({edges[0].date(), now.date()}):
            recent += self._rows(day, since=iso(edges[0]))
        rolling = [_rolling(recent, edges[0], edges[1]), _rolling(recent, edges[1], edges[2])]
        return {"state_transitions": {"daily": daily, "hourly": hourly, "hourly_rolling": rolling}}
