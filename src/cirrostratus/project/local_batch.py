"""Local-only Batch settings of a project: `custom.cirro.batch.local` in cirrus.yml.

AWS has no knob for these; they let a user rehearse what AWS does to Batch jobs. Today that is
spot interruptions: a share of the attempts on a SPOT compute environment fail as if the EC2
host were reclaimed, so a workflow's Retry on that failure can be tested before deploying.
Serverless ignores `custom.cirro`, so the same cirrus.yml deploys unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KEY = "custom.cirro.batch.local"


@dataclass(frozen=True)
class SpotInterruption:
    """Interrupt `rate` (0..1) of the attempts on SPOT queues, at most `limit` times per run
    (None: no limit), drawing from a generator seeded with `seed` (None: unseeded)."""

    rate: float = 0.0
    limit: int | None = None
    seed: int | None = None

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.limit != 0


def spot_interruption(config: Mapping[str, Any]) -> tuple[SpotInterruption, list[tuple[str, str]]]:
    """The settings from a cirrus.yml mapping, and (key, message) for each bad value (ignored)."""
    section: Any = config
    for part in KEY.split("."):
        section = section.get(part) if isinstance(section, Mapping) else None
    if section is None:
        return SpotInterruption(), []
    if not isinstance(section, Mapping):
        return SpotInterruption(), [(KEY, "must be a mapping (spot_interruption_rate, ...)")]
    problems: list[tuple[str, str]] = []
    rate = section.get("spot_interruption_rate", 0.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        problems.append((f"{KEY}.spot_interruption_rate", "must be a number from 0 to 1, e.g. 0.1"))
        rate = 0.0
    limit = _whole(section, "spot_interruption_limit", problems)
    seed = _whole(section, "spot_interruption_seed", problems)
    return SpotInterruption(rate=float(rate), limit=limit, seed=seed), problems


def _whole(section: Mapping[str, Any], name: str, problems: list[tuple[str, str]]) -> int | None:
    value = section.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append((f"{KEY}.{name}", "must be a whole number, 0 or more"))
        return None
    return value
