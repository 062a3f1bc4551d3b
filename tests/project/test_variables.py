from __future__ import annotations

import pytest

from cirrostratus.project.variables import as_int, as_number, resolve

CONFIG = {
    "custom": {"batch": {"Memory": 2048, "Alias": "${self:custom.batch.Memory}"}},
    "service": "svc",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${opt:region, 'us-west-2'}", "us-west-2"),
        ('${opt:stage, "dev"}', "dev"),
        ("${opt:count, 3}", 3),
        ("${self:custom.batch.Memory}", 2048),
        ("${self:custom.batch.Alias}", 2048),  # variables that point at variables
        ("${self:service}", "svc"),
        ("${self:custom.missing, 'fallback'}", "fallback"),
        ("${self:custom.missing}", "${self:custom.missing}"),  # unresolvable stays text
        ("prefix-${self:service}", "prefix-${self:service}"),  # only whole-value variables
        (42, 42),
    ],
)
def test_resolve(value: object, expected: object) -> None:
    assert resolve(value, CONFIG) == expected


def test_env_source_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRRO_TEST_REGION", "ap-south-1")
    assert resolve("${env:CIRRO_TEST_REGION, 'us-west-2'}", {}) == "ap-south-1"
    monkeypatch.delenv("CIRRO_TEST_REGION")
    assert resolve("${env:CIRRO_TEST_REGION, 'us-west-2'}", {}) == "us-west-2"


def test_numbers() -> None:
    assert as_number("0.25", {}) == 0.25
    assert as_int("${self:custom.batch.Memory}", CONFIG) == 2048
    assert as_number(True, {}) is None
    assert as_number({"Ref": "X"}, {}) is None
