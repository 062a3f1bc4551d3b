"""The S3 ObjectStore is FsspecStore over s3fs; it honours AWS_ENDPOINT_URL (moto's server)."""

from __future__ import annotations

from typing import Any

import pytest

from cirrostratus.storage import ObjectStore, StoreError, open_store, read_url


def test_s3_store_writes_reads_and_names_objects(aws: Any, unique: str) -> None:
    bucket = f"payloads-{unique}"
    aws("s3").create_bucket(Bucket=bucket)
    store = open_store(f"s3://{bucket}/prefix")
    assert isinstance(store, ObjectStore)
    url = store.put_bytes("c/workflow-w/a/input.json", b'{"id": 1}')
    assert url == f"s3://{bucket}/prefix/c/workflow-w/a/input.json"
    body = aws("s3").get_object(Bucket=bucket, Key="prefix/c/workflow-w/a/input.json")["Body"]
    assert body.read() == b'{"id": 1}'
    head = aws("s3").head_object(Bucket=bucket, Key="prefix/c/workflow-w/a/input.json")
    assert head["ContentType"] == "application/json"  # as Cirrus's publish uploads items
    assert store.get_bytes("c/workflow-w/a/input.json") == b'{"id": 1}'
    assert read_url(url) == b'{"id": 1}' and store.exists(url)
    with pytest.raises(StoreError, match="no object"):
        store.get_bytes("absent.json")


def test_without_s3fs_s3_urls_use_boto3_alone(
    aws: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cirrostratus.storage import s3

    monkeypatch.setattr(s3, "s3fs_available", lambda: False)  # as on Lambda
    bucket = f"lambda-{unique}"
    aws("s3").create_bucket(Bucket=bucket)
    store = open_store(f"s3://{bucket}/pre")
    assert isinstance(store, s3.S3Store) and isinstance(store, ObjectStore)
    url = store.put_bytes("c/workflow-w/a b/input.json", b'{"id": 2}')
    assert url == f"s3://{bucket}/pre/c/workflow-w/a b/input.json"
    head = aws("s3").head_object(Bucket=bucket, Key="pre/c/workflow-w/a b/input.json")
    assert head["ContentType"] == "application/json"
    assert store.get_bytes("c/workflow-w/a b/input.json") == b'{"id": 2}'
    assert read_url(url) == b'{"id": 2}' and store.exists(url)
    assert not store.exists("absent.json")
    with pytest.raises(StoreError, match="no object"):
        read_url(f"s3://{bucket}/absent.json")
