"""moto's server on a free loopback port, in this process.

In-process (moto's `ThreadedMotoServer`, rebuilt here with a short poll) rather than `python -m moto.server` as a child, because the
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
POLL_S = 0.02  # how often the server thread looks for a stop request


class LocalAwsBusy(RuntimeError):
    """A local AWS already runs in this process."""


class MotoServer:
    """moto's HTTP server on 127.0.0.1 (a port the system picks), started and stopped once."""

    def __init__(self) -> None:
        self._server: object | None = None
        self._thread: threading.Thread | None = None
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
            # ThreadedMotoServer's parts, with a short poll so that stopping takes milliseconds
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
            app = DomainDispatcherApplication(create_backend_app)
            server = make_server(
                "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
            )
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
            )
            thread.start()
            port = int(server.server_address[1])
        except BaseException:
            _running.release()
            raise
        self._server, self._thread = server, thread
        self.endpoint = f"http://127.0.0.1:{port}"
        try:  # moto's backends are global to the process: start from nothing
            self.reset()
        except BaseException:
            self.stop()
            raise
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
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
            if self._thread is not None:
                self._thread.join(timeout=5)
            self.endpoint = ""
            _running.release()
