"""Serving the API with uvicorn: alone (`cirro api`) or in a thread beside the engine
(`cirro serve --port`).

The listening socket is bound before anything else starts, so a port in use is reported
at once with the port named (and `--port 0` picks a free one and says which). Beside the
engine, the API runs in a child process serving that same socket (`cirro api --fd N`): in
one process the engine's executions and the API's requests took turns on the GIL, and a
page of 100 records took 50 ms instead of 2.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from cirrostratus.api.security import DEFAULT_MAX_BODY, TOKEN_ENV, ApiRefused, resolve_token

#: Seconds open connections (event streams) get to finish when the server stops.
GRACEFUL_S = 1


@dataclass
class ApiServer:
    """A bound socket and the uvicorn server that will answer on it."""

    sock: socket.socket
    server: Any
    token: str
    token_generated: bool
    backend: Any
    thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self.sock.getsockname()[0])

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}/"

    def banner(self) -> str:
        lines = [f"state API on {self.url}  dashboard {self.url}ui/  schema {self.url}openapi.json"]
        if self.token_generated:
            lines.append(
                f"write token (submit, rerun): {self.token}   "
                "(set CIRRO_API_TOKEN to choose your own)"
            )
        return "\n".join(lines)

    def run(self) -> None:
        """Serve in this thread until interrupted (uvicorn handles Ctrl-C)."""
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.close()

    def start(self) -> None:
        """Serve on a thread of its own; `stop` ends it."""
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="cirro-api", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(GRACEFUL_S + 5)
        self.close()

    def close(self) -> None:
        self.sock.close()
        self.backend.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; ApiRefused naming the port when it is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ApiRefused(f"--host {host}: not an address this machine knows ({exc})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ApiRefused(
                f"port {port} on {host} is in use: pass another --port (or --port 0 for any "
                "free one)"
            ) from None
        raise ApiRefused(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


@dataclass
class ApiProcess:
    """The API in a child process (`cirro api --fd N`) on a socket bound here: beside a
    draining engine it shares no GIL with it, and the engine none with it. It dies with us."""

    sock: socket.socket
    command: list[str]
    token: str
    token_generated: bool
    proc: subprocess.Popen[bytes] | None = None

    host = ApiServer.host
    port = ApiServer.port
    url = ApiServer.url
    banner = ApiServer.banner

    def start(self) -> None:
        env = {**os.environ, TOKEN_ENV: self.token}
        fd = self.sock.fileno()
        self.proc = subprocess.Popen(
            [*self.command, "--fd", str(fd)],
            pass_fds=[fd],
            env=env,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(GRACEFUL_S + 5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when its parent dies (even by kill -9)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn_server(
    project_root: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    environ: dict[str, str] | None = None,
) -> ApiProcess:
    """Check the token rule and bind now (a bad port fails before the engine starts); the
    child process is started by `start()`."""
    token, generated = resolve_token(host, environ)
    sock = bind(host, port)
    sock.set_inheritable(True)
    command = [sys.executable, "-m", "cirrostratus", "--project", project_root, "api"]
    command += ["--max-body", str(max_body)]
    return ApiProcess(sock, command, token, generated)


def open_server(
    engine: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    environ: dict[str, str] | None = None,
    sock: socket.socket | None = None,
    backend: Any = None,
) -> ApiServer:
    """Check the token rule, bind the socket, build the app over `engine`'s stores.

    `engine` is a LocalEngine used only for its stores and `submit` (never `serve`): beside
    `cirro serve` the API gets its own instance, so it shares no connection with the drain.
    `backend(token)`, when given, builds the backend instead (a deployment's: no engine).
    """
    token, generated = resolve_token(host, environ)
    if sock is None:
        sock = bind(host, port)
    try:
        import uvicorn

        from cirrostratus.api.app import create_app
        from cirrostratus.api.backend import ApiBackend

        served = ApiBackend(engine, token=token) if backend is None else backend(token)
        app = create_app(served, max_body=max_body)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_S,
            lifespan="off",
        )
        server = uvicorn.Server(config)
    except BaseException:
        sock.close()
        raise
    return ApiServer(sock, server, token, generated, served)
