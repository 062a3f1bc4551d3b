"""`GET /asset?href=`: the dashboard's thumbnails from the project's local data store, and
nothing outside it (no `..`, no absolute path elsewhere, no symlink out, only images)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import client_for, new_project

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24  # served as bytes; the browser test shows a real one


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path, Path]]:
    root = new_project(tmp_path_factory.mktemp("asset") / "project")
    client, backend = client_for(root)
    data = Path(backend.engine.data.root)
    (data / "thumbs").mkdir(parents=True)
    (data / "thumbs" / "a.png").write_bytes(PNG)
    (data / "thumbs" / "page.html").write_text("<script>alert(1)</script>")
    (root / "secret.png").write_bytes(b"secret")
    (data / "thumbs" / "out.png").symlink_to(root / "secret.png")
    (data / "thumbs" / "up").symlink_to(root)
    yield client, root, data
    backend.close()


def test_images_in_the_data_store_are_served(served: tuple[Any, Path, Path]) -> None:
    client, root, data = served
    for href in (
        f"file://{data}/thumbs/a.png",
        str(data / "thumbs" / "a.png"),
        os.path.relpath(data / "thumbs" / "a.png", root),  # project-relative
        f"file://{data}/thumbs/%61.png",  # percent-encoded, as a browser resolves it
    ):
        response = client.get("/asset", params={"href": href})
        assert response.status_code == 200, href
        assert response.content == PNG and response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "href",
    [
        "{data}/../../secret.png",
        "file://{data}/thumbs/../../../secret.png",
        "{root}/secret.png",
        "secret.png",
        "{data}/thumbs/out.png",  # a symlink out of the store
        "{data}/thumbs/up/secret.png",  # through a symlinked folder
        "/etc/passwd",
        "{data}/thumbs/page.html",  # inside, but not an image
    ],
)
def test_nothing_outside_the_store_nor_other_than_images(
    served: tuple[Any, Path, Path], href: str
) -> None:
    client, root, data = served
    response = client.get("/asset", params={"href": href.format(data=data, root=root)})
    assert response.status_code == 403
    assert "secret" not in response.text.replace("secret.png", "")
    assert response.json()["error"].startswith("href=")


def test_missing_and_foreign_hrefs(served: tuple[Any, Path, Path]) -> None:
    client, _, data = served
    missing = client.get("/asset", params={"href": f"{data}/thumbs/nope.png"})
    assert missing.status_code == 404
    for href in ("s3://bucket/a.png", "https://example.com/a.png", "data:image/png;base64,AA"):
        assert client.get("/asset", params={"href": href}).status_code == 400
    assert client.get("/asset", params={"href": f"{data}/a\x00.png"}).status_code in (400, 403)
    assert client.get("/asset").status_code == 422
