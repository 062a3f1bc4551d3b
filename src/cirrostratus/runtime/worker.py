"""A warm Lambda execution environment: `python -m cirrostratus.runtime.worker`.

It imports the task's handler once and then serves requests from its stdin pipe, one at a
time and in order, answering each on its stdout pipe (see `protocol`). The parent pipelines
several requests so the pipe is never idle. Everything the handler prints or logs through
Python is captured per request and sent back with the answer; output written straight to
file descriptors 1 or 2 (C libraries, child processes) goes to the worker's stderr, which the
parent attributes to the request running at the time.
"""

from __future__ import annotations

import decimal
import importlib
import inspect
import io
import json
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

MAX_LINE = 256 * 1024
"""Longest log record: a longer line is split (CloudWatch caps an event at 256 KB too)."""


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
    """Turn raw writes into `[time, stream, line]` records, one per line of output.

    Linear in the output: only each new write is searched for newlines, the pieces of an
    unfinished line are joined once, and a line longer than `MAX_LINE` is cut into records
    of that size (as CloudWatch caps an event), so 40 MB written without a newline costs
    the same as 40 MB of short lines.
    """
    out: list[list[Any]] = []
    pending: dict[str, tuple[float, list[str], int]] = {}
    for t, stream, text in records:
        start, parts, size = pending.pop(stream, (t, [], 0))
        *complete, rest = text.split("\n")
        for line in complete:
            if parts:
                parts.append(line)
                line = "".join(parts)
                parts, size = [], 0
            out.extend([start, stream, chunk] for chunk in _cut(line))
            start = t
        if rest:
            parts.append(rest)
            size += len(rest)
            if size >= MAX_LINE:
                whole = "".join(parts)
                cut = len(whole) - len(whole) % MAX_LINE
                out.extend([start, stream, chunk] for chunk in _cut(whole[:cut]))
                tail = whole[cut:]
                parts, size, start = ([tail] if tail else []), len(tail), t
        if parts:
            pending[stream] = (start, parts, size)
    for stream, (start, parts, _size) in pending.items():
        out.append([start, stream, "".join(parts)])
    return out


def _cut(line: str) -> list[str]:
    if len(line) <= MAX_LINE:
        return [line]
    return [line[i : i + MAX_LINE] for i in range(0, len(line), MAX_LINE)]


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
    running = [0]  # the request being handled (0: none)

    def last_words(signum: int, frame: Any) -> None:
        """SIGTERM from the pool (a timeout, memory): send what the running request printed
        so far, so its log keeps it as Lambda's does, then end; SIGKILL follows anyway."""
        if running[0]:
            os.write(proto_out, encode([running[0], False, None, _lines(records) or None]))
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, last_words)
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
            assert init_error is not None
            text = f"[ERROR] {init_error['errorType']}: {init_error['errorMessage']}"
            if init_error.get("stackTrace"):
                text += "\nTraceback (most recent call last):\n" + "".join(init_error["stackTrace"])
            writer.write(
                encode([ident, False, init_error, _lines([(time.time(), "stderr", text)])])
            )
            writer.flush()
            continue
        running[0] = ident
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
        except SystemExit as exc:  # Lambda's runtime process ends: Runtime.ExitError
            _exit_like_lambda(exc, records)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            result = _error_body(exc)
            ok = False
            records.append((time.time(), "stderr", _error_log(exc)))
        body = None
        if ok:
            try:
                body = marshal(result)
            except (TypeError, ValueError) as exc:
                ok = False
                result = {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": request_id,
                    "stackTrace": [],
                }
                records.append(
                    (
                        time.time(),
                        "stderr",
                        f"[ERROR] Runtime.MarshalError: {result['errorMessage']}\n",
                    )
                )
        logs = _lines(records) if records else None
        records.clear()
        out = encode([ident, ok, result if body is None else orjson.Fragment(body), logs])
        running[0] = 0
        writer.write(out)
        writer.flush()


def _error_log(exc: BaseException) -> str:
    """What Lambda's Python runtime logs for a handler exception: `[ERROR] Type: message`
    and the traceback, so `payload logs` and `cirro task run` show where it failed."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # not this module's call frame
    return f"[ERROR] {type(exc).__name__}: {exc}\nTraceback (most recent call last):\n" + "".join(
        traceback.format_list(frames)
    )


def _exit_like_lambda(exc: SystemExit, records: list[tuple[float, str, str]]) -> None:
    """`sys.exit()` in a handler ends Lambda's runtime process; do the same here.

    What the request printed goes to fd 2 first (the parent files it under the request that
    was running); the parent then fails it with `Runtime.ExitError: exit status N`.
    """
    code = exc.code
    if code is not None and not isinstance(code, int):
        records.append((time.time(), "stderr", f"{code}\n"))
        code = 1
    for _t, _stream, line in _lines(records):
        os.write(2, (line + "\n").encode("utf-8", "replace"))
    os._exit(code or 0)


def _not_json(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal) and obj.is_finite():
        return orjson.Fragment(str(obj))  # as Lambda's encoder writes a Decimal: a number
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_STRICT = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def marshal(result: Any) -> bytes:
    """The result as JSON, refusing what Lambda's `json` encoder refuses.

    orjson would write a datetime as a string and NaN as null; on Lambda both fail with
    `Runtime.MarshalError`, so they fail here too (TypeError / ValueError with Python's
    own wording). NaN and infinity only ever become `null`, so they are looked for only
    when the output holds one.
    """
    try:
        body = orjson.dumps(result, default=_not_json, option=_STRICT)
    except orjson.JSONEncodeError:  # Python's json decides, and words the error
        return json.dumps(result, allow_nan=False, default=_lambda_default).encode()
    if b"null" in body and _has_nonfinite(result):
        json.dumps(result, allow_nan=False, default=_lambda_default)  # raises, in its words
    return body


def _has_nonfinite(obj: Any) -> bool:
    """Whether a NaN or infinity hides in dicts and lists (about half what `json.dumps`
    costs; orjson's own pass stays the only one for output without a `null`)."""
    stack = [obj]
    pop, extend = stack.pop, stack.extend
    while stack:
        value = pop()
        kind = type(value)
        if kind is dict:
            extend(value.values())
        elif kind is str or kind is int or value is None or kind is bool:
            continue
        elif kind is list or kind is tuple:
            extend(value)
        elif isinstance(value, float):
            if value - value != 0.0:
                return True
        elif isinstance(value, dict):
            extend(value.values())
        elif isinstance(value, list | tuple):
            extend(value)
    return False


def _lambda_default(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        return str(obj)
    return _not_json(obj)


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
