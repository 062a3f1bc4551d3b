"""The engine lock: asking who holds it changes nothing, and never keeps an engine out."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from cirrostratus.engine.lock import EngineBusy, EngineLock


def test_asking_about_a_missing_lock_creates_nothing(tmp_path: Path) -> None:
    lock = EngineLock(tmp_path / "engine.lock")
    assert lock.holder() is None
    assert not (tmp_path / "engine.lock").exists()


def test_holder_names_the_engine_and_a_second_engine_is_refused(tmp_path: Path) -> None:
    lock = EngineLock(tmp_path / "engine.lock")
    with lock.hold():
        assert lock.holder() is not None and lock.holder().isdigit()
        with pytest.raises(EngineBusy, match="another cirro engine"), lock.hold():
            pass
    assert lock.holder() is None


def test_an_engine_starting_during_a_probe_still_gets_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "engine.lock"
    path.write_text("")
    probing = threading.Event()

    def probe() -> None:
        with open(path) as fh:
            fcntl.flock(fh, fcntl.LOCK_SH)  # what holder() takes, held longer than it does
            probing.set()
            threading.Event().wait(0.1)

    t = threading.Thread(target=probe)
    t.start()
    probing.wait(5)
    with EngineLock(path).hold():
        assert path.read_text().isdigit()
    t.join()
