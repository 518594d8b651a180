"""A real scenario desk for tests: `planner serve` in a process of its own on 127.0.0.1.

Tests talk to it over real HTTP (httpx, a browser, a load generator), so they cross the
same process and network boundaries as a team's browser does. The server is started as
people start it, `planner serve --port 0`, and its address is read from the first
line it prints, so no port is ever guessed.

    from server import desk_server          # tests/desk is on sys.path for its tests

    def test_something(tmp_path):
        with desk_server(tmp_path / "desk") as desk:
            with desk.client() as http:
                assert http.get("/api/health").status_code == 200
            desk.stop()                     # Ctrl-C: running runs become interrupted
        # leaving the block stops it if still running, and kills anything it left

    # kill -9 of the server alone (its engine workers orphaned, then reaped on exit):
    desk.kill()

`DeskServer.client()` carries the token when the server has one. `wait_for(http, id)`
polls a run until it has ended. Every wait is bounded (`START_WAIT_S`, `STOP_WAIT_S`,
the `timeout` arguments); the server's output is kept in `data/serve.log` and shown in
any failure to start.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

#: Bounded waits: the server starts in a couple of seconds, stops in a few.
START_WAIT_S = 30.0
STOP_WAIT_S = 20.0
#: Statuses a run does not leave by itself.
FINISHED = ("done", "infeasible", "no_solution", "failed", "cancelled", "interrupted")
_ADDRESS = re.compile(r"Scenario desk on (http://\S+) ")
_ENTRY = "from planner.cli import main; main()"


@dataclass
class DeskServer:
    """A running `planner serve`: its address, data folder, token and process."""

    url: str
    data: Path
    token: str | None
    process: subprocess.Popen[bytes]
    log: Path
    pgid: int = field(default=0)
    log_start: int = 0
    """Where this process's output begins in `log` (a restart appends to the same file)."""

    def client(self, *, timeout: float = 30.0, auth: bool = True, **kwargs: Any) -> httpx.Client:
        """An HTTP client of this server (its base URL; the token unless `auth=False`)."""
        headers = dict(kwargs.pop("headers", {}))
        if auth and self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return httpx.Client(base_url=self.url, timeout=timeout, headers=headers, **kwargs)

    @property
    def host_port(self) -> tuple[str, int]:
        """(host, port) of the server, for raw sockets."""
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host.strip("[]"), int(port)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_WAIT_S) -> int | None:
        """Stop as Ctrl-C does (SIGINT: a graceful shutdown; running runs become
        `interrupted`); SIGKILL if it has not stopped within `timeout`. Its exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_WAIT_S)
        self.reap()
        return self.process.returncode

    def kill(self) -> None:
        """`kill -9` of the server process alone, as a crash would end it: nothing of it
        runs its shutdown; its engine worker processes are left orphaned (`reap` ends them)."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(STOP_WAIT_S)

    def reap(self) -> None:
        """End every process the server left behind (its process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)

    def peak_memory_kb(self) -> int:
        """The server process's peak resident memory so far (Linux `VmHWM`), in KB: the web
        process only, not its engine workers (they are processes of their own)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if found is None:
            raise RuntimeError("no VmHWM in /proc: peak memory is measured on Linux only")
        return int(found.group(1))

    def output(self) -> str:
        """What this server process has printed so far (standard output and error)."""
        try:
            with open(self.log, "rb") as log:
                log.seek(self.log_start)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""


def serve_command(
    data: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    workers: int = 1,
    extra: Sequence[str] = (),
) -> list[str]:
    """The `planner serve` command line (run with this interpreter)."""
    return [
        sys.executable,
        "-c",
        _ENTRY,
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--data",
        str(data),
        "--workers",
        str(workers),
        *extra,
    ]


def start_desk(
    data: Path,
    *,
    token: str | None = None,
    workers: int = 1,
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
    start_wait: float = START_WAIT_S,
) -> DeskServer:
    """Start `planner serve --port 0` on 127.0.0.1 with data in `data` and wait until it
    answers /api/health; the token, when given, is passed as PLANNER_TOKEN (as a service
    would pass a secret: not on the command line, where `ps` shows it)."""
    data.mkdir(parents=True, exist_ok=True)
    log = data / "serve.log"
    log_start = log.stat().st_size if log.exists() else 0
    environment = {k: v for k, v in os.environ.items() if k != "PLANNER_TOKEN"}
    environment.update(env or {})
    if token is not None:
        environment["PLANNER_TOKEN"] = token
    with open(log, "ab") as out:
        process = subprocess.Popen(
            serve_command(data, workers=workers, extra=extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,  # its own process group: reaped whole, spared our Ctrl-C
        )
    server = DeskServer("", data, token, process, log, pgid=process.pid, log_start=log_start)
    try:
        server.url = _wait_for_address(server, start_wait)
        _wait_for_health(server, start_wait)
    except BaseException:
        server.kill()
        server.reap()
        raise
    return server


@contextlib.contextmanager
def desk_server(
    data: Path,
    *,
    token: str | None = None,
    workers: int = 1,
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[DeskServer]:
    """A started desk for the block; stopped (then its process group reaped) after."""
    server = start_desk(data, token=token, workers=workers, extra=extra, env=env)
    try:
        yield server
    finally:
        server.stop()


def wait_for(
    http: httpx.Client,
    run_id: str,
    statuses: Sequence[str] = FINISHED,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Poll GET /api/runs/{id} until its status is one of `statuses`; the run's JSON."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/api/runs/{run_id}")
        response.raise_for_status()
        run: dict[str, Any] = response.json()
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {run['status']} after {timeout} s")
        time.sleep(0.2)


def _wait_for_address(server: DeskServer, wait: float) -> str:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found = _ADDRESS.search(server.output())
        if found:
            return found.group(1)
        if not server.alive():
            raise RuntimeError(f"planner serve ended at start:\n{server.output()}")
        time.sleep(0.05)
    raise TimeoutError(f"planner serve printed no address in {wait} s:\n{server.output()}")


def _wait_for_health(server: DeskServer, wait: float) -> None:
    deadline = time.monotonic() + wait
    with server.client(timeout=5.0) as http:
        while True:
            try:
                if http.get("/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if not server.alive():
                raise RuntimeError(f"planner serve ended at start:\n{server.output()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"planner serve did not answer in {wait} s:\n{server.output()}")
            time.sleep(0.05)
