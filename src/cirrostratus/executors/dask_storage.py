"""Refuse a cluster that cannot see this machine's folders.

With the default local stores (`.cirro/payloads`, `.cirro/data`) every task reads and writes
folders of this machine. Workers on other machines would write their outputs where nobody
reads them (or fail on a path that does not exist there), so a run on such a cluster is
refused before anything starts, with the variables to set. A store given explicitly — an
`s3://` URL, or a folder named in `CIRRUS_*_BUCKET` (taken to be a shared mount, the same
path on every machine) — is trusted.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from cirrostratus.storage.locations import Locations

VARIABLES = (("CIRRUS_PAYLOAD_BUCKET", "payload_url"), ("CIRRUS_DATA_BUCKET", "data_url"))


class SharedStorageError(Exception):
    """The stores are folders of this machine and the cluster is not only on it."""


def scheduler_host(address: str) -> str:
    """The host part of `tcp://HOST:PORT` (also `tls://`, `ws://`, a bare `HOST:PORT`)."""
    if "://" not in address:
        address = "tcp://" + address
    return urlsplit(address).hostname or ""


def is_this_machine(host: str) -> bool:
    """Whether `host` names this machine: loopback, its hostname, or one of its addresses.

    Only this machine's own name is resolved (from /etc/hosts or the resolver); a remote
    name is never looked up, so the answer needs no network.
    """
    if not host or host in ("localhost", "localhost.localdomain"):
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    names = {socket.gethostname()}
    with contextlib.suppress(OSError):
        names.add(socket.getfqdn())
    if host in names:
        return True
    mine: set[str] = set()
    for name in names:
        try:
            mine.update(socket.gethostbyname_ex(name)[2])
        except OSError:
            continue
    return host in mine


def check_shared_storage(
    locations: Locations,
    hosts: Iterable[str],
    env: Mapping[str, str] | None = None,
) -> None:
    """Raise SharedStorageError when a host of the cluster (the scheduler's, the workers')
    is another machine and a store is a folder of this one that nobody chose to share."""
    env = os.environ if env is None else env
    remote = sorted({h for h in hosts if not is_this_machine(h)})
    if not remote:
        return
    local = [
        (variable, getattr(locations, attr))
        for variable, attr in VARIABLES
        if getattr(locations, attr).startswith("file://") and not env.get(variable)
    ]
    if not local:
        return
    stores = ", ".join(f"{variable} = {url}" for variable, url in local)
    raise SharedStorageError(
        f"the Dask cluster is not only on this machine ({', '.join(remote)}), but the "
        f"project's stores are folders here ({stores}): workers on other machines could not "
        "read the payloads or write the outputs. Point them at storage every worker reaches, "
        "then run again:\n"
        "  export CIRRUS_PAYLOAD_BUCKET=s3://my-bucket/payloads CIRRUS_DATA_BUCKET=s3://my-bucket/data\n"
        "or a shared file system mounted at the same path on every machine:\n"
        "  export CIRRUS_PAYLOAD_BUCKET=/shared/cirro/payloads CIRRUS_DATA_BUCKET=/shared/cirro/data\n"
        "(the project folder itself must be at the same path on the workers too; see docs/dask.md)"
    )
