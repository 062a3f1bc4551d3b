"""A warm Lambda execution environment: `python -m cirrostratus.runtime.worker`.

It imports the task's handler once and then serves requests from its stdin pipe, one at a
time and in order, answering each on its stdout pipe (see `protocol`). The parent pipelines
several requests so the pipe is never idle. Everything the handler prints or logs through
Python is captured per request and sent back with the answer; output written straight to
file descriptors 1 or 2 (C libraries, child processes) goes to the worker's stderr, which the
parent attributes to the request running at the time.
"""

from __future__ import annotations

import importlib
import inspect
import io
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import orjson

from cirrostratus.runtime.context import LambdaContext
from cirrostratus.runtime.protocol import HEADER, encode

Handler = Callable[[Any, LambdaContext], Any]

#: the loggers Cirrus's own logging setup puts at CIRRUS_LOG_LEVEL
CIRRUS_LOGGERS = ("lambda_function", "function", "feeder", "task")


class _Capture(io.TextIOBase):
    """sys.stdout / sys.stderr: records writes into the current request's log list."""

    def __init__(self, stream: str, sink: list[tuple[float, str, str]], fd: int) -> None:
        self.stream = stream
        self.sink = sink
        self._fd = fd

    def write(self, text: str) -> int:
        if text:
            self.sink.append((time.time(), self.stream, text))
        return len(text)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


def _lines(records: list[tuple[float, str, str]]) -> list[list[Any]]:
    """Turn raw writes into `[time, stream, line]` records, one per line of output."""
    out: list[list[Any]] = []
    pending: dict[str, tuple[float, str]] = {}
    for t, stream, text in records:
        start, acc = pending.get(stream, (t, ""))
        acc += text
        *complete, rest = acc.split("\n")
        for line in complete:
            out.append([start, stream, line])
            start = t
        if rest:
            pending[stream] = (start, rest)
        else:
            pending.pop(stream, None)
    for stream, (start, rest) in pending.items():
        out.append([start, stream, rest])
    return out


def load_handler(spec: str, directory: str, task_kwargs: dict[str, Any]) -> Handler:
    """Import `module.function` (Lambda style) or `module:Attribute` (function or Task class).

    A `stactask.Task` subclass is called through its classmethod `handler`, with the
    options the caller gave (`workdir`, `upload`, ...) and the request id when supported.
    """
    if directory and directory not in sys.path:
        sys.path.insert(0, directory)
    if ":" in spec:
        module_name, attr = spec.split(":", 1)
    elif "." in spec:
        module_name, attr = spec.rsplit(".", 1)
    else:
        raise _InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
        )
    if module_name.endswith(".py"):
        module_name = module_name[:-3]
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}", exc
        ) from exc
    target = getattr(module, attr, None)
    if target is None:
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{module_name}'"
        )
    if inspect.isclass(target) and hasattr(target, "handler") and hasattr(target, "process"):
        return _task_class_handler(target, task_kwargs)
    if not callable(target):
        raise _InitError("Runtime.HandlerNotFound", f"'{spec}' is not callable")
    return target  # type: ignore[no-any-return]


def _task_class_handler(cls: Any, task_kwargs: dict[str, Any]) -> Handler:
    def call(event: Any, context: LambdaContext | None = None) -> Any:
        return cls.handler(event, **task_kwargs)

    return call


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.body = {
            "errorMessage": message,
            "errorType": error_type,
            "stackTrace": traceback.format_list(traceback.extract_tb(cause.__traceback__))
            if cause
            else [],
        }


def _error_body(exc: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop this module's call frame
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def serve(proto_in: int, proto_out: int) -> None:
    """Read the init frame, import the handler, then answer requests until stdin closes."""
    reader = open(proto_in, "rb", buffering=1 << 16)  # noqa: SIM115 - lives as long as the worker
    writer = open(proto_out, "wb", buffering=1 << 16)  # noqa: SIM115

    def read_frame() -> Any:
        head = reader.read(4)
        if len(head) < 4:
            return None
        (length,) = HEADER.unpack(head)
        return orjson.loads(reader.read(length))

    init = read_frame()
    if init is None:
        return
    records: list[tuple[float, str, str]] = []
    sys.stdout = _Capture("stdout", records, 1)
    sys.stderr = _Capture("stderr", records, 2)
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(name)s\t%(message)s"))
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())
    cirrus_level = os.environ.get("CIRRUS_LOG_LEVEL")
    if cirrus_level:  # as cirrus.lib2.logging does for the loggers Cirrus components use
        for logger_name in CIRRUS_LOGGERS:
            logging.getLogger(logger_name).setLevel(cirrus_level.upper())

    name = init["function"]
    timeout_s = float(init["timeout_s"])
    memory_mb = int(init["memory_mb"])
    arn = init["arn"]
    log_group = f"/aws/lambda/{name}"
    log_stream = init.get("log_stream", "local")
    init_error: dict[str, Any] | None = None
    fn: Handler | None = None
    try:
        fn = load_handler(init["handler"], init["directory"], init.get("task_kwargs") or {})
    except _InitError as exc:
        init_error = exc.body
    except BaseException as exc:  # a module-level crash in the task's own code
        init_error = {**_error_body(exc), "errorType": "Runtime.ImportModuleError"}
    writer.write(encode([0, init_error is None, None, _lines(records) or None]))
    writer.flush()
    records.clear()

    while True:
        frame = read_frame()
        if frame is None:
            return
        ident, request_id, event = frame
        if init_error is not None or fn is None:
            writer.write(encode([ident, False, init_error, None]))
            writer.flush()
            continue
        context = LambdaContext(
            aws_request_id=request_id,
            function_name=name,
            memory_limit_in_mb=memory_mb,
            invoked_function_arn=arn,
            log_group_name=log_group,
            log_stream_name=log_stream,
            deadline=time.monotonic() + timeout_s,
        )
        try:
            result = fn(event, context)
            ok = True
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            result = _error_body(exc)
            ok = False
        logs = _lines(records) if records else None
        records.clear()
        try:
            out = encode([ident, ok, result, logs])
        except TypeError as exc:
            body = {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
                "stackTrace": [],
            }
            out = encode([ident, False, body, logs])
        writer.write(out)
        writer.flush()


def main() -> None:
    """Keep the protocol pipes private: fd 1 becomes a second stderr for stray output.

    Ctrl-C is the parent's business: it stops workers by closing their stdin (or kills them),
    so a terminal's SIGINT does not spray tracebacks from every worker.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    serve(proto_in, proto_out)


if __name__ == "__main__":
    main()
