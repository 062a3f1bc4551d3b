"""The intrinsic functions themselves (States.Array, States.Hash, ...).

Each takes evaluated arguments and returns a JSON value, or raises States.IntrinsicFailure
with a message naming the function and what was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import uuid
from typing import Any

from cirrostratus.asl.errors import INTRINSIC_FAILURE, StatesError


def _fail(message: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, message)


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise _fail(message)


def _is_int(value: Any) -> bool:
    if isinstance(value, float) and value.is_integer():
        return True
    return isinstance(value, int) and not isinstance(value, bool)


def string_to_json(text: Any) -> Any:
    _need(isinstance(text, str), "States.StringToJson: the argument must be a string")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _fail(f"States.StringToJson: not valid JSON: {exc}") from None


def json_to_string(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def array(*values: Any) -> list[Any]:
    return list(values)


def array_partition(array: Any, size: Any) -> list[Any]:
    _need(isinstance(array, list), "States.ArrayPartition: the first argument must be an array")
    _need(
        _is_int(size) and size > 0,
        "States.ArrayPartition: the chunk size must be a positive integer",
    )
    n = int(size)
    return [array[i : i + n] for i in range(0, len(array), n)]


def array_contains(array: Any, value: Any) -> bool:
    _need(isinstance(array, list), "States.ArrayContains: the first argument must be an array")
    return any(_same(item, value) for item in array)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def array_range(start: Any, end: Any, step: Any) -> list[int]:
    _need(
        all(_is_int(v) for v in (start, end, step)), "States.ArrayRange: arguments must be integers"
    )
    _need(step != 0, "States.ArrayRange: the step cannot be 0")
    s, e, st = int(start), int(end), int(step)
    out = list(range(s, e + (1 if st > 0 else -1), st))
    _need(len(out) <= 1000, "States.ArrayRange: the result may hold at most 1000 items")
    return out


def array_get_item(array: Any, index: Any) -> Any:
    _need(isinstance(array, list), "States.ArrayGetItem: the first argument must be an array")
    _need(
        _is_int(index) and index >= 0,
        "States.ArrayGetItem: the index must be a non-negative integer",
    )
    _need(int(index) < len(array), f"States.ArrayGetItem: index {index} is out of range")
    return array[int(index)]


def array_length(array: Any) -> int:
    _need(isinstance(array, list), "States.ArrayLength: the argument must be an array")
    return len(array)


def array_unique(array: Any) -> list[Any]:
    _need(isinstance(array, list), "States.ArrayUnique: the argument must be an array")
    seen: list[Any] = []
    for item in array:
        if not any(_same(item, s) for s in seen):
            seen.append(item)
    return seen


def base64_encode(text: Any) -> str:
    _need(isinstance(text, str), "States.Base64Encode: the argument must be a string")
    _need(len(text) <= 10000, "States.Base64Encode: the input may be at most 10,000 characters")
    return base64.b64encode(text.encode()).decode()


def base64_decode(text: Any) -> str:
    _need(isinstance(text, str), "States.Base64Decode: the argument must be a string")
    _need(len(text) <= 10000, "States.Base64Decode: the input may be at most 10,000 characters")
    try:
        return base64.b64decode(text, validate=True).decode()
    except ValueError as exc:
        raise _fail(f"States.Base64Decode: not valid base64: {exc}") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def hash(data: Any, algorithm: Any) -> str:
    _need(isinstance(data, str), "States.Hash: the data must be a string")
    _need(len(data) <= 10000, "States.Hash: the data may be at most 10,000 characters")
    _need(
        algorithm in _HASHES,
        f"States.Hash: unknown algorithm {algorithm!r}; use one of {', '.join(_HASHES)}",
    )
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def json_merge(a: Any, b: Any, deep: Any) -> dict[str, Any]:
    _need(
        isinstance(a, dict) and isinstance(b, dict), "States.JsonMerge: both values must be objects"
    )
    _need(deep is False, "States.JsonMerge: only shallow merges (false) are supported")
    return {**a, **b}


def math_random(start: Any, end: Any, seed: Any = None) -> int:
    _need(_is_int(start) and _is_int(end), "States.MathRandom: start and end must be integers")
    _need(int(start) < int(end), "States.MathRandom: start must be less than end")
    rng = random.Random(int(seed)) if seed is not None else random
    return rng.randrange(int(start), int(end))


def _round_half_up(value: float) -> int:
    """Java's Math.round, which Step Functions uses: the nearest integer, halves toward
    positive infinity (2.5 -> 3, -2.5 -> -2). `value - floor(value)` is exact for floats, so
    0.49999999999999994 rounds to 0 (a naive floor(value + 0.5) would give 1)."""
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def math_add(a: Any, b: Any) -> int:
    """The sum of two numbers; non-integers are first rounded to the nearest integer, as
    Step Functions does (States.MathAdd(1.4, 2.6) is 1 + 3 = 4)."""
    numbers = all(
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and math.isfinite(v))
        for v in (a, b)
    )
    _need(numbers, "States.MathAdd: both arguments must be numbers")
    return _round_half_up(a) + _round_half_up(b)


def string_split(text: Any, delimiters: Any) -> list[str]:
    _need(
        isinstance(text, str) and isinstance(delimiters, str),
        "States.StringSplit: arguments must be strings",
    )
    if not delimiters:
        return [text]
    pattern = "[" + re.escape(delimiters) + "]"
    return [part for part in re.split(pattern, text) if part]


def new_uuid() -> str:
    return str(uuid.uuid4())
