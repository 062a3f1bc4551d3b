"""Response shapes for the OpenAPI schema (documentation and schemathesis' checks).

Routes return JSON they build themselves (orjson, no per-request validation: a page of 1,000
records must not cost a model instance each); these models only describe it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    title: str
    rel: str
    type: str
    href: str


class Root(BaseModel):
    id: str
    description: str
    links: list[Link]


class StateCount(BaseModel):
    state: str
    unique_count: int
    count: int


class Bin(BaseModel):
    period: str = Field(description="YYYY-MM-DD (day) or YYYY-MM-DDTHH:MM:SSZ (hour)")
    interval: str = Field(description="day or hour")
    states: list[StateCount]


class Transitions(BaseModel):
    daily: list[Bin]
    hourly: list[Bin]
    hourly_rolling: list[Bin]


class Stats(BaseModel):
    state_transitions: Transitions


class Summary(BaseModel):
    collections: str
    workflow: str
    counts: dict[str, int | str] = Field(description='per state; "N+" when over `limit`')


class Execution(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    start: str | None
    end: str | None
    status: str


class Record(BaseModel):
    """Cirrus's current view: the record plus `catid` and `catalog` (the input's URL)."""

    payload_id: str
    collections: str
    workflow: str
    items: str
    state: str
    created: str
    updated: str
    state_changed: str
    executions: list[Execution]
    outputs: list[str]
    last_error: str | None
    catid: str
    catalog: str


class LegacyRecord(BaseModel):
    """Cirrus's legacy view (`/item/...`, `/collections/...`)."""

    model_config = ConfigDict(extra="allow")
    id: str
    catid: str
    input_collections: str
    current_state: str
    state: str
    created_at: str
    updated_at: str
    input_catalog: str
    execution: Execution | None = None
    items: list[str]
    error_message: str | None


class Items(BaseModel):
    items: list[dict[str, Any]]
    nextkey: str | None = Field(description="pass back as ?nextkey= for the next page")


class Error(BaseModel):
    error: str


class Submitted(BaseModel):
    payload_ids: list[str]
    message_ids: list[str]


class RerunRequest(BaseModel):
    """Which payloads to run again: `payload_ids`, or the filters of `cirro rerun`."""

    model_config = ConfigDict(extra="forbid")
    payload_ids: list[str] = Field(default_factory=list)
    collections: str | None = None
    workflow: str | None = None
    state: str | None = None
    since: str | None = Field(None, description="10m, 8h, 2d, 1w")
    error_prefix: str | None = None
    limit: int = Field(1000, ge=1, le=10_000)
    dry_run: bool = False


class Skipped(BaseModel):
    payload_id: str
    reason: str


class Rerun(BaseModel):
    model_config = ConfigDict(extra="allow")
    dry_run: bool
    skipped: list[Skipped]


class StateSpan(BaseModel):
    model_config = ConfigDict(extra="allow")
    state: str | None
    start: str
    end: str | None
    seconds: float | None


class History(BaseModel):
    payload_id: str
    state: str
    spans: list[StateSpan]


class OverviewRow(BaseModel):
    collections: str
    workflow: str
    counts: dict[str, int | str]


class Overview(BaseModel):
    workflows: list[OverviewRow]
    queued: int
    dead_letters: int
