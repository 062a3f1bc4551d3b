"""An S3 ObjectStore on boto3 alone, for where s3fs is not installed: the Lambda handlers.

Lambda provides boto3 but not s3fs (whose aiobotocore pins a botocore of its own), so
`open_store("s3://…")` and `read_url("s3://…")` fall back to this when s3fs cannot be
imported. Same keys, same URLs and the same Content-Type rule as `FsspecStore` on S3.
"""

from __future__ import annotations

import functools
import mimetypes
from typing import Any

import orjson

from cirrostratus.storage.keys import StoreError, object_key


@functools.lru_cache(maxsize=1)
def s3fs_available() -> bool:
    try:
        import s3fs  # noqa: F401
    except ImportError:
        return False
    return True


def _client() -> Any:
    import os

    return _client_for(os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION"))


@functools.lru_cache(maxsize=4)
def _client_for(endpoint: str | None, region: str | None) -> Any:
    """One client per endpoint (a warm Lambda reuses it; tests switch endpoints)."""
    import boto3

    return boto3.client("s3")


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` → (bucket, key)."""
    if not url.startswith("s3://"):
        raise StoreError(f"{url!r} is not an s3:// URL")
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def _missing(exc: BaseException) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


def read_s3(url: str, client: Any = None) -> bytes:
    bucket, key = split_s3_url(url)
    try:
        body = (client or _client()).get_object(Bucket=bucket, Key=key)["Body"]
        data: bytes = body.read()
        return data
    except Exception as exc:
        if _missing(exc):
            raise StoreError(f"no object at {url}") from None
        raise


class S3Store:
    """`s3://bucket/prefix` through boto3 (see the module docstring)."""

    concurrent_writes = True

    def __init__(self, root_url: str, *, client: Any = None) -> None:
        self.root_url = root_url.rstrip("/")
        self.bucket, self.prefix = split_s3_url(self.root_url + "/")
        self.prefix = self.prefix.rstrip("/")
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or _client()

    def _key(self, key: str) -> str:
        clean = object_key(key)
        return f"{self.prefix}/{clean}" if self.prefix else clean

    def url(self, key: str) -> str:
        return f"{self.root_url}/{object_key(key)}"

    def put_bytes(self, key: str, data: bytes) -> str:
        extra = {}
        kind = mimetypes.guess_type(key)[0]
        if kind:
            extra["ContentType"] = kind
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)
        return self.url(key)

    def get_bytes(self, key_or_url: str) -> bytes:
        if "://" in key_or_url:
            from cirrostratus.storage.store import read_url

            return read_url(key_or_url)
        return read_s3(f"s3://{self.bucket}/{self._key(key_or_url)}", self.client)

    def exists(self, key_or_url: str) -> bool:
        if "://" in key_or_url:
            bucket, key = split_s3_url(key_or_url)
        else:
            bucket, key = self.bucket, self._key(key_or_url)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return True

    def put_json(self, key: str, obj: Any) -> str:
        return self.put_bytes(key, orjson.dumps(obj))

    def get_json(self, key_or_url: str) -> Any:
        return orjson.loads(self.get_bytes(key_or_url))
