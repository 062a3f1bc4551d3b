"""The geo feeders: feed-listing over a folder, feed-stac-crawl over a static catalog,
feed-stac-api over a small STAC API served from files on a loopback port; and `cirro feed`'s
flags (--param, --params, --process, --dry-run, --run)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from click.testing import CliRunner

from cirrostratus.cli import cli as main
from cirrostratus.cli.errors import CliError
from cirrostratus.project.project import BUILTINS_ROOT

from .conftest import load_module

PROCESS = {"workflow": "cog-archive", "upload_options": {"path_template": "${collection}/${id}"}}


def feeder(name: str) -> Any:
    return load_module(Path(BUILTINS_ROOT) / "feeders" / name / "lambda_function.py")


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_listing_reads_the_rasters(scenes: list[Any], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    folder = str(Path(scenes[0]["assets"]["data"]["href"]).parent)
    event = {"root": folder, "glob": "*.tif", "collection": "c", "process": PROCESS}
    result = feeder("feed-listing").lambda_handler({**event, "output": str(out)})
    assert result["payloads"] == 2
    bodies = read_lines(out)
    first = bodies[0]["features"][0]
    assert first["id"] == "scene-00" and first["collection"] == "c"
    assert first["properties"]["proj:code"] == "EPSG:32633"
    assert first["bbox"] == pytest.approx(scenes[0]["bbox"])
    assert first["assets"]["data"]["href"] == scenes[0]["assets"]["data"]["href"]
    assert bodies[0]["process"] == PROCESS


def test_listing_from_a_template_and_grouped(scenes: list[Any], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    folder = str(Path(scenes[0]["assets"]["data"]["href"]).parent)
    template = {
        "type": "Feature",
        "id": "${stem}",
        "properties": {"datetime": "2024-01-01T00:00:00Z", "tile": "T1"},
        "assets": {"image": {"href": "${href}"}},
    }
    event = {"root": folder, "glob": "*.tif", "items": "template", "item_template": template}
    result = feeder("feed-listing").lambda_handler(
        {**event, "group_by": "tile", "process": PROCESS, "output": str(out)}
    )
    assert result["payloads"] == 1
    (body,) = read_lines(out)
    assert [f["id"] for f in body["features"]] == ["scene-00", "scene-01"]
    assert body["features"][1]["assets"]["image"]["href"].endswith("scene-01.tif")


def write_catalog(root: Path, scenes: list[dict[str, Any]]) -> Path:
    """catalog.json -> collection.json (child) -> items (relative links and asset hrefs)."""
    (root / "col" / "items").mkdir(parents=True)
    catalog = {
        "type": "Catalog",
        "id": "root",
        "stac_version": "1.1.0",
        "description": "d",
        "links": [{"rel": "child", "href": "./col/collection.json"}],
    }
    links = []
    for scene in scenes:
        item = json.loads(json.dumps(scene))
        item["assets"]["data"]["href"] = f"../../{item['id']}.tif"
        (root / "col" / "items" / f"{item['id']}.json").write_text(json.dumps(item))
        links.append({"rel": "item", "href": f"./items/{item['id']}.json"})
    collection = {"type": "Collection", "id": "synthetic", "links": links}
    (root / "col" / "collection.json").write_text(json.dumps(collection))
    for scene in scenes:  # the rasters the relative hrefs point at
        src = Path(scene["assets"]["data"]["href"])
        (root / src.name).write_bytes(src.read_bytes())
    (root / "catalog.json").write_text(json.dumps(catalog))
    return root / "catalog.json"


def test_crawl_walks_a_static_catalog(scenes: list[Any], tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", scenes)
    out = tmp_path / "out.jsonl"
    event = {"catalog": str(catalog), "process": PROCESS, "output": str(out)}
    assert feeder("feed-stac-crawl").lambda_handler(event)["payloads"] == 2
    items = [b["features"][0] for b in read_lines(out)]
    assert [i["id"] for i in items] == ["scene-00", "scene-01"]
    href = items[0]["assets"]["data"]["href"]
    assert Path(href) == tmp_path / "cat" / "scene-00.tif" and Path(href).exists()
    assert items[0]["links"][0] == {
        "rel": "self",
        "href": str(tmp_path / "cat/col/items/scene-00.json"),
        "type": "application/json",
    }
    none = {**event, "collections": ["other"]}
    assert feeder("feed-stac-crawl").lambda_handler(none)["payloads"] == 0
    assert feeder("feed-stac-crawl").lambda_handler({**event, "max_items": 1})["payloads"] == 1


class StacApi(BaseHTTPRequestHandler):
    """A STAC API answering from `items` (landing page, conformance, /search with paging)."""

    items: list[dict[str, Any]] = []
    base = ""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path in ("/", ""):
            self._send(
                {
                    "type": "Catalog",
                    "id": "api",
                    "stac_version": "1.1.0",
                    "description": "test API",
                    "conformsTo": [
                        "https://api.stacspec.org/v1.0.0/core",
                        "https://api.stacspec.org/v1.0.0/item-search",
                    ],
                    "links": [
                        {"rel": "self", "href": f"{self.base}/"},
                        {"rel": "root", "href": f"{self.base}/"},
                        {"rel": "search", "href": f"{self.base}/search", "method": "GET"},
                    ],
                }
            )
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self._search(query, "GET")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._search(json.loads(self.rfile.read(length) or b"{}"), "POST")

    def _search(self, params: dict[str, Any], method: str) -> None:
        limit = int(params.get("limit", 10))
        start = int(params.get("token", 0))
        wanted = params.get("collections")
        if isinstance(wanted, str):
            wanted = wanted.split(",")
        found = [i for i in self.items if not wanted or i.get("collection") in wanted]
        page = found[start : start + limit]
        links = []
        if start + limit < len(found):
            nxt = {**params, "token": start + limit}
            link: dict[str, Any] = {"rel": "next", "method": method}
            if method == "POST":
                link.update(href=f"{self.base}/search", body=nxt)
            else:
                link["href"] = f"{self.base}/search?" + urlencode(
                    {k: ",".join(v) if isinstance(v, list) else v for k, v in nxt.items()}
                )
            links.append(link)
        self._send({"type": "FeatureCollection", "features": page, "links": links})


@pytest.fixture
def stac_api(scenes: list[Any]) -> Iterator[str]:
    items = []
    for n in range(7):  # more items than a page, in two groups of a property
        item = json.loads(json.dumps(scenes[n % 2]))
        item["id"] = f"api-{n}"
        item["properties"]["tile"] = "A" if n < 4 else "B"
        items.append(item)
    server = ThreadingHTTPServer(("127.0.0.1", 0), StacApi)
    StacApi.items = items
    StacApi.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield StacApi.base
    server.shutdown()
    server.server_close()


def test_stac_api_pages_and_groups(stac_api: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    event = {"url": stac_api, "page_size": 3, "process": PROCESS, "output": str(out)}
    api = feeder("feed-stac-api")
    assert api.lambda_handler(event)["payloads"] == 7  # three pages
    assert [b["features"][0]["id"] for b in read_lines(out)] == [f"api-{n}" for n in range(7)]
    assert api.lambda_handler({**event, "max_items": 4})["payloads"] == 4
    assert api.lambda_handler({**event, "group_by": "tile"})["payloads"] == 2
    assert [len(b["features"]) for b in read_lines(out)] == [4, 3]
    assert api.lambda_handler({**event, "collections": ["nope"]})["payloads"] == 0


def test_cli_flags_dry_run_and_submit(
    scenes: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(project)]).exit_code == 0
    monkeypatch.chdir(project)
    (project / "template.json").write_text(json.dumps({"process": PROCESS}))
    folder = str(Path(scenes[0]["assets"]["data"]["href"]).parent)
    (project / "params.yml").write_text(f"root: {folder}\nglob: '*.tif'\n")
    args = ["feed", "feed-listing", "--params", "params.yml", "--param", "max_items=1"]
    args += ["--process", "template.json", "--no-task-envs"]
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = [json.loads(x) for x in dry.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1 and lines[0]["process"] == PROCESS
    assert not (project / ".cirro" / "intake.db").exists() or "queued" not in dry.stdout
    sent = runner.invoke(main, args)
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout[sent.stdout.index("{") :])["queued"] == 1
    bad = runner.invoke(main, ["feed", "feed-listing", "--param", "novalue"])
    assert isinstance(bad.exception, CliError) and bad.exception.exit_code == 2
    assert "KEY=VALUE" in str(bad.exception)
    both = runner.invoke(main, [*args, "--dry-run", "--run"])
    assert isinstance(both.exception, CliError) and "exclusive" in str(both.exception)
    assert both.exception.exit_code == 2


def test_feed_rerun_writes_to_output_instead_of_queueing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cirrostratus.state import SqliteStateStore

    db = tmp_path / "state.db"
    with SqliteStateStore(str(db)):
        pass
    monkeypatch.setenv("CIRRUS_STATE_DB", str(db))
    monkeypatch.setenv("CIRRUS_PAYLOAD_BUCKET", str(tmp_path / "payloads"))
    monkeypatch.delenv("CIRRO_HOME", raising=False)  # queueing would fail without it
    out = tmp_path / "out.jsonl"
    event = {"collections": "c", "workflow": "w", "output": str(out)}
    result = feeder("feed-rerun").lambda_handler(event)
    assert result["queued"] == 0 and out.exists()


def test_listing_a_missing_root_says_so(tmp_path: Path) -> None:
    event = {"root": str(tmp_path / "nope"), "process": PROCESS, "output": str(tmp_path / "o")}
    with pytest.raises(ValueError, match="does not exist"):
        feeder("feed-listing").lambda_handler(event)


def test_payloads_leave_in_batches_as_items_arrive(tmp_path: Path) -> None:
    from cirrostratus.geo import feeding

    def items() -> Iterator[dict[str, Any]]:
        for n in range(feeding.BATCH + 50):
            yield {"type": "Feature", "id": f"i{n}", "properties": {}, "assets": {}}
        raise RuntimeError("the source broke")

    out = tmp_path / "out.jsonl"
    event = {"process": PROCESS, "output": str(out)}
    with pytest.raises(RuntimeError):
        feeding.emit(feeding.group(items(), None), event, "test")
    assert len(read_lines(out)) == feeding.BATCH  # the first batch left before the source ended


def test_cli_shows_no_temp_file_and_no_traceback(
    scenes: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--dry-run's stderr is the feeder's progress and the count, not the temp file the result
    went to; a bad parameter is its error line, without the feeder's traceback."""
    project = tmp_path / "proj"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(project)]).exit_code == 0
    monkeypatch.chdir(project)
    (project / "template.json").write_text(json.dumps({"process": PROCESS}))
    folder = str(Path(scenes[0]["assets"]["data"]["href"]).parent)
    args = ["feed", "feed-listing", "--param", "glob=*.tif", "--process", "template.json"]
    args += ["--no-task-envs", "--dry-run"]
    dry = runner.invoke(main, [*args, "--param", f"root={folder}"])
    assert dry.exit_code == 0, dry.output
    assert "feed-listing: 2 payloads in all" in dry.stderr
    assert "wrote " not in dry.stderr and "result.json" not in dry.stderr
    bad = runner.invoke(main, [*args, "--param", f"root={tmp_path / 'nope'}"])
    assert bad.exit_code == 1  # said once, by the error (no `[ERROR]` copy of it on stderr)
    assert "does not exist" in str(bad.exception) and "does not exist" not in bad.stderr
    assert "Traceback" not in bad.stderr
