"""`cirro …` with a payload store that fails while a flag file exists (where no tmpfs can be
mounted): `python faulty_engine.py --project P serve`, flag at $RELIABILITY_STORE_FAULT
holding `ENOSPC` (a full disk) or `EROFS` (a read-only mount)."""

from __future__ import annotations

import errno
import os
import runpy
import sys
from pathlib import Path
from typing import Any

from cirrostratus.engine import local

FLAG = Path(os.environ["RELIABILITY_STORE_FAULT"])


class FaultyStore:
    """The engine's payload store, refusing every write while the flag file exists."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def put_bytes(self, key: str, data: bytes) -> Any:
        if FLAG.exists():
            code = errno.EROFS if FLAG.read_text().strip() == "EROFS" else errno.ENOSPC
            raise OSError(code, os.strerror(code), key)
        return self._inner.put_bytes(key, data)


_init = local.LocalEngine.__init__


def _faulty_init(self: local.LocalEngine, *args: Any, **kwargs: Any) -> None:
    _init(self, *args, **kwargs)
    self.payloads = FaultyStore(self.payloads)


local.LocalEngine.__init__ = _faulty_init  # type: ignore[method-assign]
sys.argv = ["cirro", *sys.argv[1:]]
runpy.run_module("cirrostratus", run_name="__main__", alter_sys=True)
