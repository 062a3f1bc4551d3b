"""Static checks of a definition, before anything runs.

`check_definition(definition)` returns every problem it finds (it never raises): structure,
names, transitions, reachability, paths, templates, intrinsic calls, Retry/Catch, Choice
rules, and fields a state type does not take. Nested states are named by their path,
e.g. `Batch.Branches[0].submit` or `Tiles.ItemProcessor.cog`.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.asl.check_rules import check_retry_catch, check_rule
from cirrostratus.asl.errors import AslProblem
from cirrostratus.asl.intrinsics import is_intrinsic, parse_intrinsic
from cirrostratus.asl.paths import PathSyntaxError, parse_path, parse_reference_path
from cirrostratus.asl.templates import compile_template
from cirrostratus.asl.timeutil import parse_timestamp

MAX_STATE_NAME = 80
"""The ASL specification: state names MUST be at most 80 Unicode characters."""

_COMMON = {"Type", "Comment", "QueryLanguage"}
_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
_RESULT = {"Parameters", "ResultSelector", "ResultPath", "Retry", "Catch"}
FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _IO | _FLOW | {"Parameters", "Result", "ResultPath"},
    "Task": _COMMON | _IO | _FLOW | _RESULT
    | {"Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Wait": _COMMON | _IO | _FLOW | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON | _IO | _FLOW | _RESULT | {"Branches"},
    "Map": _COMMON | _IO | _FLOW | _RESULT
    | {
        "ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "MaxConcurrency", "MaxConcurrencyPath",
        "ToleratedFailureCount", "ToleratedFailureCountPath", "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath", "ItemReader", "ResultWriter", "ItemBatcher", "Label",
    },
}  # fmt: skip
_JSONATA_ONLY = {"Arguments", "Output", "Assign", "Items"}
_NUMBER_PATHS = (
    "SecondsPath", "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "MaxConcurrencyPath",
    "ToleratedFailureCountPath", "ToleratedFailurePercentagePath",
)  # fmt: skip


class _Checker:
    def __init__(self) -> None:
        self.problems: list[AslProblem] = []

    def add(
        self, state: str | None, field: str | None, message: str, severity: str = "error"
    ) -> None:
        self.problems.append(AslProblem(state, field, message, severity))

    def machine(self, definition: Any, prefix: str, top: bool) -> None:
        where = prefix.rstrip(".") or None
        if not isinstance(definition, dict):
            self.add(where, None, "a state machine must be an object with StartAt and States")
            return
        allowed = {"StartAt", "States", "Comment"} | (
            {"Version", "TimeoutSeconds", "QueryLanguage"} if top else {"ProcessorConfig"}
        )
        for key in definition:
            if key not in allowed:
                self.add(
                    where, key, f"unknown field; a state machine takes {', '.join(sorted(allowed))}"
                )
        if top:
            self._query_language(None, definition)
            timeout = definition.get("TimeoutSeconds")
            if timeout is not None and not _positive_int(timeout):
                self.add(None, "TimeoutSeconds", "must be a positive integer")
        states = definition.get("States")
        if not isinstance(states, dict) or not states:
            self.add(where, "States", "required: an object of at least one state, by name")
            return
        start = definition.get("StartAt")
        if not isinstance(start, str):
            self.add(where, "StartAt", "required: the name of the first state")
        elif start not in states:
            self.add(where, "StartAt", f"names '{start}', which is not one of the States")
        for name, spec in states.items():
            if len(name) > MAX_STATE_NAME:
                self.add(
                    f"{prefix}{name}",
                    None,
                    f"the state name is {len(name)} characters long; the specification allows "
                    f"at most {MAX_STATE_NAME}: shorten it (and every Next that names it)",
                )
            self.state(f"{prefix}{name}", spec, states)
        if isinstance(start, str) and start in states:
            self._reachability(prefix, start, states)
        if not any(_terminal(spec) for spec in states.values()):
            self.add(
                where, "States", "no terminal state: add a Succeed or Fail state, or End: true"
            )

    def _reachability(self, prefix: str, start: str, states: dict[str, Any]) -> None:
        seen, todo = {start}, [start]
        while todo:
            spec = states[todo.pop()]
            for target in _targets(spec):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen:
                self.add(
                    f"{prefix}{name}",
                    None,
                    "unreachable: no Next, Default, Choice or Catch leads here",
                )

    def _query_language(self, where: str | None, spec: dict[str, Any]) -> None:
        lang = spec.get("QueryLanguage", "JSONPath")
        if lang != "JSONPath" and isinstance(lang, str):
            self.add(where, "QueryLanguage", f"'{lang}' is not supported; only JSONPath is")
        elif lang != "JSONPath":
            self.add(where, "QueryLanguage", "must be the string JSONPath")

    def state(self, where: str, spec: Any, states: dict[str, Any]) -> None:
        if not isinstance(spec, dict):
            self.add(where, None, "a state must be an object with a Type")
            return
        kind = spec.get("Type")
        if not isinstance(kind, str) or kind not in FIELDS:
            self.add(where, "Type", f"unknown state type {kind!r}; use one of {', '.join(FIELDS)}")
            return
        for key in spec:
            if key in FIELDS[kind]:
                continue
            if key in _JSONATA_ONLY:
                self.add(
                    where,
                    key,
                    "JSONata and workflow variables are not supported; use JSONPath fields",
                )
            else:
                self.add(where, key, f"not a field of a {kind} state")
        self._query_language(where, spec)
        if "Comment" in spec and not isinstance(spec["Comment"], str):
            self.add(where, "Comment", "must be a string")
        if FIELDS[kind] >= _FLOW:
            self._flow(where, spec, states)
        self._paths(where, spec)
        for field in ("Parameters", "ResultSelector", "ItemSelector"):
            if field in spec and not isinstance(spec[field], dict):
                self.add(where, field, "must be an object (a payload template)")
            elif field in spec:
                try:
                    compile_template(spec[field])
                except ValueError as exc:
                    self.add(where, field, str(exc))
        if "Retry" in spec or "Catch" in spec:
            check_retry_catch(self.add, where, spec, states)
        getattr(self, f"_{kind.lower()}")(where, spec, states)

    def _flow(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        has_next, end = "Next" in spec, spec.get("End")
        if has_next and end:
            self.add(where, "Next", "set either Next or End: true, not both")
        elif not has_next and end is not True:
            self.add(where, "Next", "required: name the next state, or set End: true")
        if has_next and not isinstance(spec["Next"], str):
            self.add(where, "Next", "must be the name of a state")
        elif has_next and spec["Next"] not in states:
            self.add(where, "Next", f"names '{spec['Next']}', which is not a state here")

    def _paths(self, where: str, spec: dict[str, Any]) -> None:
        for field in ("InputPath", "OutputPath"):
            if field in spec and spec[field] is not None:
                self._path(where, field, spec[field], reference=False)
        if spec.get("ResultPath") is not None:
            self._path(where, "ResultPath", spec["ResultPath"], reference=True)
        if "ItemsPath" in spec:  # a reference path, but it may read the context object
            self._path(where, "ItemsPath", spec["ItemsPath"], reference=False)
            if isinstance(spec["ItemsPath"], str) and not _definite(spec["ItemsPath"]):
                self.add(
                    where, "ItemsPath", "must be a reference path (names and single indexes only)"
                )
        for field in _NUMBER_PATHS:
            if field in spec:
                self._path(where, field, spec[field], reference=False)
        for field in ("ErrorPath", "CausePath"):
            value = spec.get(field)
            if isinstance(value, str) and is_intrinsic(value):
                try:
                    parse_intrinsic(value)
                except ValueError as exc:
                    self.add(where, field, str(exc))
            elif field in spec:
                self._path(where, field, value, reference=False)

    def _path(self, where: str, field: str, text: Any, *, reference: bool) -> None:
        if not isinstance(text, str):
            self.add(where, field, f"must be a JSONPath string, got {text!r}")
            return
        try:
            parse_reference_path(text) if reference else parse_path(text)
        except PathSyntaxError as exc:
            self.add(where, field, str(exc))

    def _pass(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        pass

    def _succeed(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        pass

    def _task(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        if spec.get("Resource") is None:
            self.add(where, "Resource", "required: what the task runs (an ARN or Fn::GetAtt)")
        for field in ("TimeoutSeconds", "HeartbeatSeconds"):
            if field in spec and not _positive_int(spec[field]):
                self.add(where, field, "must be a positive integer")
            if field in spec and f"{field}Path" in spec:
                self.add(where, field, f"set {field} or {field}Path, not both")
        timeout, beat = spec.get("TimeoutSeconds"), spec.get("HeartbeatSeconds")
        if isinstance(timeout, int) and isinstance(beat, int) and 0 < timeout <= beat:
            self.add(where, "HeartbeatSeconds", "must be smaller than TimeoutSeconds")

    def _choice(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        choices = spec.get("Choices")
        if not isinstance(choices, list) or not choices:
            self.add(where, "Choices", "required: a non-empty list of choice rules")
        else:
            for i, rule in enumerate(choices):
                check_rule(self.add, where, f"Choices[{i}]", rule, states, top=True)
        default = spec.get("Default")
        if default is not None and (not isinstance(default, str) or default not in states):
            self.add(where, "Default", f"names '{default}', which is not a state here")

    def _wait(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        given = [f for f in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if f in spec]
        if len(given) != 1:
            self.add(
                where, None, "set exactly one of Seconds, SecondsPath, Timestamp, TimestampPath"
            )
        seconds = spec.get("Seconds")
        if "Seconds" in spec and (
            isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0
        ):
            self.add(where, "Seconds", "must be a non-negative integer")
        if "Timestamp" in spec and parse_timestamp(spec["Timestamp"]) is None:
            self.add(where, "Timestamp", "must be an RFC 3339 timestamp like 2024-01-31T12:00:00Z")

    def _fail(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        for field in ("Error", "Cause"):
            if field in spec and f"{field}Path" in spec:
                self.add(where, field, f"set {field} or {field}Path, not both")
            if field in spec and not isinstance(spec[field], str):
                self.add(where, field, "must be a string")

    def _parallel(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        branches = spec.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.add(where, "Branches", "required: a non-empty list of state machines")
            return
        for i, branch in enumerate(branches):
            self.machine(branch, f"{where}.Branches[{i}].", top=False)

    def _map(self, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
        if "ItemProcessor" in spec and "Iterator" in spec:
            self.add(where, "Iterator", "set ItemProcessor or the older Iterator, not both")
        if "ItemSelector" in spec and "Parameters" in spec:
            self.add(where, "Parameters", "set ItemSelector or the older Parameters, not both")
        processor = spec.get("ItemProcessor", spec.get("Iterator"))
        if processor is None:
            self.add(where, "ItemProcessor", "required: the states each item runs through")
        else:
            self.machine(processor, f"{where}.ItemProcessor.", top=False)
            config = processor.get("ProcessorConfig", {}) if isinstance(processor, dict) else {}
            mode = config.get("Mode", "INLINE") if isinstance(config, dict) else None
            if mode == "DISTRIBUTED":
                self.add(where, "ItemProcessor.ProcessorConfig.Mode",
                         "DISTRIBUTED runs inline here: iterations are not child executions", "warning")  # fmt: skip
            elif mode != "INLINE":
                self.add(
                    where, "ItemProcessor.ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED"
                )
        for field in ("ItemReader", "ItemBatcher"):
            if field in spec:
                self.add(where, field, f"{field} (distributed Map) is not supported locally; "
                         "put the items in the state input and use ItemsPath")  # fmt: skip
        for field in ("ResultWriter", "Label"):
            if field in spec:
                self.add(where, field, f"{field} (distributed Map) is ignored locally: results stay "
                         "in the state output", "warning")  # fmt: skip
        for field, high in (
            ("MaxConcurrency", None),
            ("ToleratedFailureCount", None),
            ("ToleratedFailurePercentage", 100),
        ):
            if field in spec:
                value = spec[field]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or value < 0
                    or (high and value > high)
                ):
                    self.add(
                        where,
                        field,
                        "must be a non-negative number" + (f" up to {high}" if high else ""),
                    )
                if f"{field}Path" in spec:
                    self.add(where, field, f"set {field} or {field}Path, not both")


def _definite(text: str) -> bool:
    try:
        return parse_path(text).definite
    except PathSyntaxError:
        return True  # reported already


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _terminal(spec: Any) -> bool:
    return isinstance(spec, dict) and (
        spec.get("Type") in ("Succeed", "Fail") or spec.get("End") is True
    )


def _targets(spec: Any) -> list[str]:
    if not isinstance(spec, dict):
        return []
    out = [spec.get("Next"), spec.get("Default")]
    for field in ("Choices", "Catch"):
        entries = spec.get(field)
        if isinstance(entries, list):
            out.extend(entry.get("Next") for entry in entries if isinstance(entry, dict))
    return [t for t in out if isinstance(t, str)]


def check_definition(definition: Any) -> list[AslProblem]:
    """Every problem in `definition`, errors and warnings; an empty list means it is valid."""
    checker = _Checker()
    checker.machine(definition, "", top=True)
    return checker.problems
