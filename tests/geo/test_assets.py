"""geo.assets.upload_file: a task's own output file moves into the data store in one piece."""

from __future__ import annotations

from pathlib import Path

from cirrostratus.geo.assets import upload, upload_file
from cirrostratus.storage.keys import url_path

ITEM = {"id": "scene-1", "collection": "demo", "properties": {}}
OPTIONS = {"path_template": "${collection}/${id}"}


def test_moves_the_file_where_upload_would_write_it(tmp_path: Path) -> None:
    root = tmp_path / "data"
    work = tmp_path / "work"
    work.mkdir()
    made = work / "out.tif"
    made.write_bytes(b"cog bytes")
    href = upload_file(ITEM, "data", "scene-1-data.tif", made, OPTIONS, str(root))
    same = upload(ITEM, "data", "scene-1-data.tif", b"cog bytes", OPTIONS, str(root))
    assert href == same
    assert Path(url_path(href)) == root / "demo" / "scene-1" / "scene-1-data.tif"
    assert Path(url_path(href)).read_bytes() == b"cog bytes"
    assert not made.exists()  # moved, not copied
    assert [p.name for p in Path(url_path(href)).parent.iterdir()] == ["scene-1-data.tif"]


def test_replaces_an_earlier_object(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for content in (b"first", b"second"):
        made = tmp_path / "out.tif"
        made.write_bytes(content)
        href = upload_file(ITEM, "data", "x.tif", made, OPTIONS, str(root))
    assert Path(url_path(href)).read_bytes() == b"second"
