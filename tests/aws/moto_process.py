"""moto's server in a child process on a free loopback port, for the AWS test folders.

In a child, not in process (`ThreadedMotoServer`): moto keeps its backends global to a
process, and `--aws local` (tests/aws/local) resets them when it starts and stops — which
would wipe a session-long deployment of another folder running in the same xdist worker.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(
    argv: Sequence[str] | None = None, start_timeout: float = 60.0, name: str = "moto's server"
) -> Iterator[str]:
    """Start a moto server in a child process, wait until it answers, yield its URL, stop it.

    `argv` is the command without its address (default `python -m moto.server`); `-H
    127.0.0.1 -p PORT` is appended, so any script that ends in moto's `main` fits (the docs
    test's patched emulator). `name` is what an error calls the server.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = list(argv) if argv is not None else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
