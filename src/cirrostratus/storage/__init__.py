"""Object storage: a local folder by default, any fsspec URL (s3://...) for the cloud.

Payloads and published items cross task boundaries as URLs, so every store speaks URLs:
`put_bytes(key)` returns the URL that `get_bytes(url)` (on any store) reads back.
"""

from cirrostratus.storage.store import FsspecStore, LocalStore, ObjectStore, open_store, read_url

__all__ = ["FsspecStore", "LocalStore", "ObjectStore", "open_store", "read_url"]
