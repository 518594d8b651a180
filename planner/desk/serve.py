"""`planner serve`: check the address and token, bind, print where the desk listens, serve.

The socket is bound here, before uvicorn starts, for two reasons: `--port 0` then
prints the port the system chose (tests and scripts read it from the first line of
standard output), and a port already taken is a one-line message, not a traceback.
One uvicorn process serves the app; runs execute in the dispatcher's worker
processes (or on a Dask cluster), so the web process stays responsive.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

from planner.desk.config import DeskConfig
from planner.desk.security import is_loopback, token_problem

#: The first line `planner serve` prints, with the address filled in (tests read it).
LISTENING = "Scenario desk on {url} (data in {data}); Ctrl-C stops it."


class ServeError(Exception):
    """The desk cannot start as asked; the message is one sentence for the command line."""


def check_config(config: DeskConfig) -> None:
    """Refuse what must not run: a non-loopback address without a token, a short token,
    an impossible number of workers or upload limit."""
    why = token_problem(config.host, config.token)
    if why:
        raise ServeError(why)
    if config.workers < 1:
        raise ServeError(f"--workers must be at least 1, not {config.workers}")
    if config.max_upload_bytes < 1:
        raise ServeError("--max-upload-mb must be greater than 0")
    if not 0 <= config.port <= 65535:
        raise ServeError(f"--port must be between 0 and 65535, not {config.port}")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port` (IPv4 or IPv6), or ServeError saying why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The address people type to reach a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(config: DeskConfig) -> None:
    """Run the desk until Ctrl-C or SIGTERM (then running runs become `interrupted`).

    Raises ServeError (for the command line: one line, exit 2) when the address, token
    or data folder cannot be used.
    """
    import uvicorn

    from planner.desk.app import create_app
    from planner.desk.store import StoreError

    check_config(config)
    try:
        app = create_app(config)
    except (StoreError, OSError) as exc:
        raise ServeError(str(exc)) from None
    sock = bind(config.host, config.port)
    _log_to(config.data / "desk.log")
    print(
        LISTENING.format(url=url_of(sock), data=config.data),
        flush=True,
    )
    if not is_loopback(config.host):
        print("Every request needs the token (Authorization: Bearer, or /login).", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="info",
            access_log=True,
            timeout_graceful_shutdown=10,
            # Headers beyond this are refused before the app sees them.
            h11_max_incomplete_event_size=64 * 1024,
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()


def _log_to(path: Path) -> None:
    """Details of internal errors go to `data/desk.log` (pages and the API show one line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("planner.desk")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
