"""Measuring the CPU our workers use (runtime/cpu.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from cirrostratus.runtime.cpu import CpuUse, cpu_seconds


def test_a_busy_process_uses_a_core_and_a_sleeping_one_none() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        use = CpuUse()
        started = time.monotonic()
        use.cores_in_use([(sleeper.pid, started), (spinner.pid, started)])
        time.sleep(0.5)
        both = use.cores_in_use([(sleeper.pid, started), (spinner.pid, started)])
        time.sleep(0.3)
        asleep = use.cores_in_use([(sleeper.pid, started)])
    finally:
        sleeper.kill()
        spinner.kill()
        sleeper.wait()
        spinner.wait()
    assert 0.3 < both < 1.3  # one spinning core (less when the machine is shared)
    assert asleep < 0.1


def test_cpu_seconds_of_this_process_and_of_none() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    after = cpu_seconds(os.getpid())
    assert before is not None and after is not None and after - before >= 0.1
    assert cpu_seconds(2**22 + 12345) is None  # no such process
