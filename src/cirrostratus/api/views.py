"""Cirrus's response shapes, built from our records (no HTTP here).

`current` is what Cirrus's API returns for a payload (`catid`, `catalog` added to the
record); `legacy` is its `/item/` and `/collections/` view. `catalog` is the URL of the stored
input payload, as Cirrus's `payload` field was its S3 URL.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.state import StateRecord


def link(href: str, title: str, rel: str) -> dict[str, str]:
    return {"title": title, "rel": rel, "type": "application/json", "href": href}


def root(base: str, project_name: str, pairs: list[tuple[str, str]], stac: str) -> dict[str, Any]:
    """`/`: a self link, a child link per collections/workflow, then the `stac` link."""
    links = [link(base, "home", "self")]
    links += [link(f"{base}{c}/workflow-{w}", f"{c} - {w}", "child") for c, w in pairs]
    links.append(link(f"{base}ui", "dashboard", "dashboard"))
    links.append(link(f"{base}openapi.json", "OpenAPI", "service-desc"))
    links.append(link(stac, "STAC", "stac"))
    return {
        "id": f"{project_name}-state-api",
        "description": f"{project_name} State API",
        "links": links,
    }


def current(record: StateRecord, catalog: str) -> dict[str, Any]:
    data = record.to_dict()
    data["catid"] = record.payload_id
    data["catalog"] = catalog
    return data


def legacy(record: StateRecord, catalog: str) -> dict[str, Any]:
    executions = [e.to_dict() for e in record.executions]
    return {
        "id": record.payload_id,
        "catid": record.payload_id,
        "input_collections": record.collections,
        "current_state": f"{record.state}_{record.updated}",
        "state": str(record.state),
        "created_at": record.created,
        "updated_at": record.updated,
        "input_catalog": catalog,
        "execution": executions[-1] if executions else None,
        "items": list(record.outputs),
        "error_message": record.last_error,
    }
