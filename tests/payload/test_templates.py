from __future__ import annotations

from typing import Any

import pytest

from cirrostratus.payload import PayloadError, join_under, output_location, render_path


def item(**props: Any) -> dict[str, Any]:
    return {"id": "test-id", "collection": "test-collection", "properties": props}


def test_cirrus_publish_only_layout_is_unpadded() -> None:
    it = item(datetime="2020-07-06T10:00:00Z")
    assert (
        render_path("${collection}/${year}/${month}/${id}", it) == "test-collection/2020/7/test-id"
    )
    assert render_path("${year}/${month}/${day}", it) == "2020/7/6"
    assert render_path("${date}", it) == "2020-07-06"


def test_start_datetime_fallback_and_colon_properties() -> None:
    it = item(datetime=None, start_datetime="2021-12-31T23:59:59+00:00", **{"mgrs:utm_zone": 17})
    assert render_path("${mgrs:utm_zone}/${year}/${month}/${day}", it) == "17/2021/12/31"


def test_cirrus_fixture_template(test_payload: dict[str, Any]) -> None:
    template = test_payload["process"]["upload_options"]["path_template"]
    assert render_path(template, test_payload["features"][0]) == (
        "s3://sentinel-cogs/sentinel-s2-l2a/17/H/QD/2020/11/S2B_17HQD_20201103_0_L2A"
    )


def test_plain_dollar_names_dotted_paths_and_escapes() -> None:
    it = item(gsd=10, nested={"a": "b"}, flag=True)
    assert (
        render_path("$collection/${nested.a}/${gsd}/${flag}/$$x", it)
        == "test-collection/b/10/true/$x"
    )
    assert render_path("${properties.gsd}", it) == "10"
    assert render_path("no variables, $ alone", it) == "no variables, $ alone"


@pytest.mark.parametrize(
    ("template", "it", "message"),
    [
        (
            "${cloud}",
            item(),
            "path_template '${cloud}': ${cloud} has no value: the item has no properties.cloud for item 'test-id'",
        ),
        (
            "${collection}",
            {"id": "x"},
            "path_template '${collection}': ${collection} has no value: the item has no collection for item 'x'",
        ),
        (
            "${year}",
            item(),
            "path_template '${year}': ${year} has no value: the item has no properties.datetime or start_datetime for item 'test-id'",
        ),
        (
            "${date}",
            item(datetime="yesterday"),
            "path_template '${date}': ${date} needs an ISO 8601 datetime (got 'yesterday') for item 'test-id'",
        ),
        (
            "${tags}",
            item(tags=["a"]),
            "path_template '${tags}': ${tags} is list, not a simple value for item 'test-id'",
        ),
        ("${}", item(), "path_template '${}' has an empty variable ${}"),
    ],
)
def test_missing_or_bad_variables_are_named(
    template: str, it: dict[str, Any], message: str
) -> None:
    with pytest.raises(PayloadError) as err:
        render_path(template, it)
    assert err.value.problems == [message]


@pytest.mark.parametrize(
    ("root", "rendered", "expected"),
    [
        ("s3://data", "c/i", "s3://data/c/i"),
        ("file:///tmp/data/", "c/i", "file:///tmp/data/c/i"),
        ("/srv/data", "./c/i", "/srv/data/./c/i"),
        ("s3://data", "s3://other-bucket/c/i", "s3://other-bucket/c/i"),
        ("s3://data", "file:///elsewhere/c", "file:///elsewhere/c"),
    ],
)
def test_join_under(root: str, rendered: str, expected: str) -> None:
    assert join_under(root, rendered) == expected


@pytest.mark.parametrize(
    ("rendered", "why"),
    [
        ("../outside", "escapes its root"),
        ("c/../../outside", "escapes its root"),
        ("s3://bucket/a/../b", "escapes its root"),
        ("c\\..\\x", "escapes its root"),
        ("/etc/passwd", "is absolute"),
        ("C:/Windows", "is absolute"),
        ("", "is empty"),
        ("///", "is empty"),
    ],
)
def test_join_under_refuses_escapes(rendered: str, why: str) -> None:
    with pytest.raises(PayloadError) as err:
        join_under("s3://data", rendered)
    assert why in str(err.value)


def test_item_values_cannot_escape_through_a_template() -> None:
    with pytest.raises(PayloadError, match="escapes its root"):
        output_location("/srv/data", "${collection}/${id}", {"id": "../../x", "collection": "c"})


def test_output_location_leading_slash_counts_from_root_and_url_overrides() -> None:
    it = item(datetime="2020-07-06T00:00:00Z")
    assert (
        output_location("s3://data", "/${collection}/${year}", it)
        == "s3://data/test-collection/2020"
    )
    assert output_location("s3://data", None, it) == "s3://data/test-collection/test-id"
    assert output_location("s3://data", "s3://cogs/${id}", it) == "s3://cogs/test-id"
