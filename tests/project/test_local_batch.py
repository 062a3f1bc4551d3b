"""`custom.cirro.batch.local` in cirrus.yml: read, and bad values named by `cirro validate`."""

from __future__ import annotations

from pathlib import Path

from cirrostratus.project import Project, init_project
from cirrostratus.project.local_batch import SpotInterruption, spot_interruption


def test_absent_section_means_no_interruptions() -> None:
    settings, problems = spot_interruption({"custom": {"batch": {}}})
    assert settings == SpotInterruption() and not settings.enabled and problems == []


def test_values_are_read() -> None:
    local = {"spot_interruption_rate": 1, "spot_interruption_limit": 2, "spot_interruption_seed": 3}
    settings, problems = spot_interruption({"custom": {"cirro": {"batch": {"local": local}}}})
    assert settings == SpotInterruption(rate=1.0, limit=2, seed=3) and settings.enabled
    assert problems == []
    zero = spot_interruption(
        {"custom": {"cirro": {"batch": {"local": {**local, "spot_interruption_limit": 0}}}}}
    )[0]
    assert not zero.enabled


def test_bad_values_are_validation_errors(tmp_path: Path) -> None:
    init_project(tmp_path)
    config = tmp_path / "cirrus.yml"
    config.write_text(
        config.read_text()
        + "\n  cirro:\n    batch:\n      local:\n"
        + "        spot_interruption_rate: 2\n        spot_interruption_limit: many\n"
    )
    problems = Project.load(tmp_path).validate()
    found = {(p.file, p.key): p.message for p in problems}
    key = "custom.cirro.batch.local.spot_interruption_rate"
    assert found[("cirrus.yml", key)] == "must be a number from 0 to 1, e.g. 0.1"
    assert ("cirrus.yml", "custom.cirro.batch.local.spot_interruption_limit") in found
