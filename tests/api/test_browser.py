"""The dashboard in a real browser (Debian's chromium through Playwright), against a real
`cirro serve --port`: submit payloads, watch the counts change live, open the failed one,
see its error and timeline, rerun it.

With CIRRO_SCREENSHOTS=<folder> it also saves the main pages there (docs/img/ is made so).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import TOKEN, make_payload, new_project

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"
)
SHOTS = os.environ.get("CIRRO_SCREENSHOTS")


def scene(item_id: str, lon: float, lat: float, hue: int) -> dict[str, Any]:
    """A mirror payload with a footprint and an inline thumbnail (no network)."""
    payload = make_payload("mirror", item_id)
    ring = [[lon, lat], [lon + 0.9, lat + 0.1], [lon + 0.8, lat + 1], [lon - 0.1, lat + 0.9]]
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='160' height='110'><defs>"
        f"<linearGradient id='g' x2='1' y2='1'><stop offset='0' stop-color='hsl({hue},45%,35%)'/>"
        f"<stop offset='1' stop-color='hsl({hue + 40},55%,70%)'/></linearGradient></defs>"
        "<rect width='160' height='110' fill='url(#g)'/></svg>"
    )
    feature = payload["features"][0]
    feature["geometry"] = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    feature["assets"] = {
        "thumbnail": {
            "href": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
            "roles": ["thumbnail"],
        }
    }
    return payload


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG (for a file:// thumbnail the dashboard loads through /asset)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = new_project(tmp_path / "project")
    env = {**os.environ, "CIRRO_API_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cirrostratus", "--project", str(root), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"state API on (http://\S+)", line)
        url = found.group(1) if found else None
        if not line and proc.poll() is not None:
            break
    assert url, "cirro serve did not announce its API"
    try:
        yield url, root
    finally:
        proc.terminate()
        proc.wait(30)


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_dashboard_live_counts_failed_item_and_rerun(served: tuple[str, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, root = served
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(url + "ui/")
        expect(page.get_by_text("No payloads yet")).to_be_visible()
        expect(page.locator("#live.on")).to_be_visible()  # the event stream is open
        shot(page, "dashboard-empty")

        scenes = [
            scene(f"S2B_{33 + i}TUM_2024070{i}", 8.5 + i * 0.7, 45.2 + (i % 3) * 0.6, 90 + 25 * i)
            for i in range(6)
        ]
        submitted = api.post("/payloads", json=[*scenes, make_payload("crash", "S2A_31UDQ_broken")])
        assert submitted.status_code == 202
        page.reload()  # the empty page became a project: its table is now drawn
        crash_failed = page.locator('tr[data-workflow="crash"] td[data-state="FAILED"]')
        mirror_done = page.locator('tr[data-workflow="mirror"] td[data-state="COMPLETED"]')
        expect(crash_failed).to_have_text("1", timeout=30_000)  # without a reload: live
        expect(mirror_done).to_have_text("6", timeout=30_000)
        late = scene("S2B_40TUM_20240710", 12.4, 46.1, 200)
        thumb = root / ".cirro" / "data" / "thumbs" / "S2B_40TUM_20240710.png"
        thumb.parent.mkdir(parents=True, exist_ok=True)
        thumb.write_bytes(png(160, 110, (70, 110, 160)))
        late["features"][0]["assets"]["thumbnail"]["href"] = f"file://{thumb}"
        more = api.post("/payloads", json=[late])
        assert more.status_code == 202
        expect(mirror_done).to_have_text("7", timeout=30_000)
        shot(page, "dashboard-overview")

        crash_failed.locator("a").click()
        expect(page.locator("#list tbody tr")).to_have_count(1)
        shot(page, "dashboard-payloads")
        page.locator("#list tbody tr a").first.click()
        expect(page.locator(".errorbox")).to_contain_text("RuntimeError: the task broke")
        expect(page.locator("#traceback")).to_contain_text("Traceback (most recent call last)")
        expect(page.locator("#timeline rect.span").first).to_be_visible()
        expect(page.locator("#logs")).to_contain_text("the task broke")
        shot(page, "dashboard-failed-item")

        page.fill("#token", TOKEN)
        page.dispatch_event("#token", "change")
        page.click("#rerun")
        expect(page.locator("#toast")).to_contain_text("Queued to run again")
        # the rerun runs and fails again: the page redraws itself with a second execution
        expect(
            page.locator("text=executions").locator("xpath=following-sibling::dd[1]")
        ).to_have_text("2", timeout=30_000)

        page.goto(url + "ui/#/item/" + "test-collection%2Fworkflow-mirror%2FS2B_33TUM_20240700")
        expect(page.locator("#footprints polygon").first).to_be_visible()
        expect(page.locator(".thumb img").first).to_be_visible()
        shot(page, "dashboard-item")
        page.goto(url + "ui/#/item/" + "test-collection%2Fworkflow-mirror%2FS2B_40TUM_20240710")
        page.wait_for_function(  # the file:// thumbnail, through /asset
            "() => { const i = document.querySelector('.thumb img');"
            " return i && i.src.includes('/asset?href=') && i.complete && i.naturalWidth === 160 }",
            timeout=30_000,
        )
        browser.close()
    api.close()
