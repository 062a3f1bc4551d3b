"""Object storage: a local folder by default, any fsspec URL (s3://...) for the cloud.

Payloads and published items cross task boundaries as URLs, so every store speaks URLs:
`put_bytes(key)` returns the URL that `get_bytes(url)` (on any store) reads back.
"""

from cirrostratus.storage.keys import StoreError, file_url, object_key, payload_key, url_path
from cirrostratus.storage.store import FsspecStore, LocalStore, ObjectStore, open_store, read_url

__all__ = [
    "FsspecStore",
    "LocalStore",
    "ObjectStore",
    "StoreError",
    "file_url",
    "object_key",
    "open_store",
    "payload_key",
    "read_url",
    "url_path",
]
