"""The Cirrus process payload: model, validation, id, envelopes, templates, chaining.

Depends on nothing else in cirrostratus (stdlib, orjson and jsonpath-ng only), so every
layer above can use it. See docs/payload.md for the rules, with examples.
"""

from cirrostratus.payload.envelope import (
    batch_output_url,
    load_payloads,
    parse_payloads,
    unwrap,
)
from cirrostratus.payload.errors import PayloadError
from cirrostratus.payload.ids import PayloadIdParts, collections_part, payload_id, split_payload_id
from cirrostratus.payload.matching import assign_collections, find_collection
from cirrostratus.payload.model import Payload
from cirrostratus.payload.readers import Reader, read_url
from cirrostratus.payload.templates import join_under, output_location, render_path
from cirrostratus.payload.transport import (
    DEFAULT_THRESHOLD,
    PayloadStore,
    decode,
    encode,
    resolve,
    to_transport,
    to_transport_bytes,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "Payload",
    "PayloadError",
    "PayloadIdParts",
    "PayloadStore",
    "Reader",
    "assign_collections",
    "batch_output_url",
    "collections_part",
    "decode",
    "encode",
    "find_collection",
    "join_under",
    "load_payloads",
    "output_location",
    "parse_payloads",
    "payload_id",
    "read_url",
    "render_path",
    "resolve",
    "split_payload_id",
    "to_transport",
    "to_transport_bytes",
    "unwrap",
]
