"""Cirrus's batch lambda runner, locally: `python -m cirrostratus.runtime.batch_lambda`.

The images cirrusgeo/run-lambda and run-geolambda run `run <function> <url>`: load the
function's code, read the payload at `url`, call `handler(payload)` — one argument, no
context — and write the result to the url with `.json` replaced by `_out.json`. This module
does the same in a fresh Python process with the task's folder on sys.path. On failure the
last line it prints is `ErrorType: message`, which post-batch turns back into the error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

import orjson

from cirrostratus.runtime.worker import load_handler


def output_url(url: str) -> str:
    """Where the runner writes its answer (exactly Cirrus's `url.replace('.json', '_out.json')`)."""
    return url.replace(".json", "_out.json")


def read(url: str) -> bytes:
    from cirrostratus.storage import read_url

    return read_url(url)


def write(url: str, data: bytes) -> None:
    if url.startswith("file://") or "://" not in url:
        from cirrostratus.storage.keys import url_path  # literal, as fsspec reads it

        path = Path(url_path(url)) if url.startswith("file://") else Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    import fsspec

    with fsspec.open(url, "wb") as fh:
        fh.write(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cirrostratus.runtime.batch_lambda")
    parser.add_argument("--directory", required=True, help="the task's folder (put on sys.path)")
    parser.add_argument("--handler", default="lambda_function.lambda_handler")
    parser.add_argument("url", help="the payload URL written by pre-batch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    log = logging.getLogger("batch")
    log.setLevel(os.environ.get("CIRRUS_LOG_LEVEL", "INFO").upper())
    try:
        handler = load_handler(args.handler, args.directory, {})
        payload = orjson.loads(read(args.url))
        log.info("running %s on %s", args.handler, args.url)
        try:
            result = handler(payload)  # type: ignore[call-arg]
        except TypeError as exc:
            if "context" in str(exc):
                print(
                    "note: the Cirrus batch runner calls handler(payload) without a context; "
                    "give it a default: def handler(event, context=None)",
                    file=sys.stderr,
                )
            raise
        out = output_url(args.url)
        write(out, orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS))
        log.info("wrote %s", out)
        return 0
    except BaseException as exc:
        if isinstance(exc, SystemExit | KeyboardInterrupt):
            raise
        traceback.print_exc()
        body = getattr(exc, "body", None)
        name = body["errorType"] if isinstance(body, dict) else type(exc).__name__
        message = " ".join(str(exc).split())
        print(f"{name}: {message}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
