"""The HTTP state API and the dashboard (the `api` extra: FastAPI + uvicorn).

Cirrus's state API routes and shapes (`/`, `/stats`, `<collections>/workflow-<wf>`, its
`/items`, `<payload_id>`), with what Cirrus lacks beside them (submit, rerun, histories, logs,
server-sent events, Prometheus metrics) and a dashboard at `/ui`. `cirro serve --port` serves
it while the engine drains; `cirro api` serves it alone. FastAPI is imported only by
`cirrostratus.api.app` and `cirrostratus.api.server`, so `cirro --help` never loads it.
"""
