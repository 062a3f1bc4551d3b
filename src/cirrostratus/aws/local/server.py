"""moto's server on a free loopback port, in this process.

In-process (`ThreadedMotoServer`) rather than `python -m moto.server` as a child, because the
S3 mirror (mirror.py) hooks moto's S3 backend, and because a thread starts in a fraction of
the time a second interpreter takes to import moto. Task workers reach it over HTTP like any
other client. moto keeps one set of backends per process, so one local AWS runs at a time.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request

_running = threading.Lock()


class LocalAwsBusy(RuntimeError):
    """A local AWS already runs in this process."""


class MotoServer:
    """moto's HTTP server on 127.0.0.1 (a port the system picks), started and stopped once."""

    def __init__(self) -> None:
        self._server: object | None = None
        self.endpoint = ""
        self.started_s = 0.0

    def start(self) -> str:
        """Start serving; returns the endpoint URL (`http://127.0.0.1:PORT`)."""
        if not _running.acquire(blocking=False):
            raise LocalAwsBusy(
                "a local AWS already runs in this process (moto keeps one set of backends "
                "per process); close it first"
            )
        began = time.monotonic()
        try:
            from moto.moto_server.threaded_moto_server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
        except BaseException:
            _running.release()
            raise
        self._server = server
        self.endpoint = f"http://{host}:{port}"
        self.started_s = time.monotonic() - began
        return self.endpoint

    def reset(self) -> None:
        """Forget every resource moto holds (its backends are global to the process)."""
        if not self.endpoint:
            return
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        """Reset and stop the server; a no-op when it is not running."""
        server, self._server = self._server, None
        if server is None:
            return
        try:
            self.reset()
        finally:
            server.stop()  # type: ignore[attr-defined]
            self.endpoint = ""
            _running.release()
