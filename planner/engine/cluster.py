"""Tasks on an existing Dask distributed cluster (`--scheduler tcp://host:8786`).

Each task is one `client.submit(run_in_worker, task.run, seconds, pure=False)`, the
same call a local worker makes, so a cluster's outcomes equal local ones. The task
carries the pickled scenario variant of its point; the value comes back as JSON text.
A worker dying is Dask's to handle first: the scheduler runs the task again elsewhere
and, after `distributed.scheduler.allowed-failures` deaths, fails it with
`KilledWorker`. The pool then runs it once more, alone, as it does a local task whose
worker died: a task that only waited on a worker another task killed comes back, the
one that kills again fails ("the worker process running it died").
"""

from __future__ import annotations

import queue
import socket
import time
import uuid
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from planner.engine.backend import Report, drain
from planner.engine.errors import EngineError
from planner.engine.task import Finished, Task, one_line, run_in_worker

if TYPE_CHECKING:
    from distributed import Client, Future

#: Seconds to reach the scheduler: an unreachable one is an error within 10 s (SPEC §8).
CONNECT_TIMEOUT_S = 6.0
#: Seconds to fetch a finished task's value from its worker.
FETCH_TIMEOUT_S = 60.0
#: The distribution whose version every worker must share with this process.
DISTRIBUTION = "partnership-planner"

#: The environment to start Dask workers with for these tasks (README, "A Dask cluster").
#: Why: a worker's own periodic work — the statistical profiler every 10 ms, the event
#: loop's tick every 20 ms, the system monitor every 0.5 s — takes the interpreter between
#: the solver's callbacks, which need it to go on; and the nanny starts each worker with
#: glibc's trim threshold at 64 KiB, so a solve that frees and regrows its model's memory
#: hands pages back to the system and faults them in again (2.6x the page faults, 0.3-0.4 s
#: more system time per 12 s of solves). The last setting drops that one variable from the
#: nanny's list (None unsets it; the others, thread caps for numeric libraries, stay).
#: Measured on a 16-point sweep of S, 2 workers on 2 cores, alternated with local workers
#: over 6 rounds: 1.06x their time with the first three settings, 1.01x with all four.
RECOMMENDED_WORKER_ENV = {
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s",
    "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": "{'MALLOC_TRIM_THRESHOLD_': None}",
}


class DaskWorkers:
    """A client of the scheduler at `address`; `workers` caps the tasks in flight
    (default: the cluster's threads, each with one more task waiting behind it on the
    scheduler: measured on a 16-point sweep at S, the round trip from a task's end to
    the next one's start made a cluster 14 % slower than local workers)."""

    def __init__(self, address: str, workers: int | None) -> None:
        from distributed import Client

        _probe(address)
        try:
            self._client: Client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise _unreachable(address, f"no answer within {CONNECT_TIMEOUT_S:g} s") from exc
        try:
            _check_workers(self._client, address)
            threads = sum(self._client.nthreads().values())
        except BaseException:
            self._client.close()
            raise
        self.slots = workers or max(1, threads)
        # One task waiting on the scheduler behind each thread, when the cluster's threads
        # are the cap; `workers` given caps the tasks on the cluster at once, ahead or not.
        self.ahead = 0 if workers else self.slots
        self._token = uuid.uuid4().hex[:8]  # keys of two commands on one cluster differ
        self._sent = 0
        self._inflight: dict[int, tuple[Future[Any], float]] = {}
        self._arrived: queue.SimpleQueue[tuple[int, Future[Any]]] = queue.SimpleQueue()

    def start(self, ticket: int, task: Task, seconds: float) -> None:
        # A task run again after `KilledWorker` gets a key of its own: the scheduler may
        # still hold the first one, erred.
        self._sent += 1
        key = f"{task.key}-{self._token}-{self._sent}"
        future = self._client.submit(run_in_worker, task.run, seconds, key=key, pure=False)
        self._inflight[ticket] = (future, time.monotonic())
        future.add_done_callback(lambda done: self._arrived.put((ticket, done)))

    def running(self) -> int:
        return len(self._inflight)

    def collect(self, timeout: float) -> list[Report]:
        arrived = drain(self._arrived, timeout)
        if not arrived:
            return []
        reports = []
        for ticket, future in arrived:
            dispatched = self._inflight.pop(ticket, None)
            if dispatched is None:
                continue
            reports.append(Report(ticket, self._finished(future, dispatched[1])))
            future.release()
        return reports

    def close(self, *, abort: bool) -> None:
        futures = [future for future, _ in self._inflight.values()]
        self._inflight.clear()
        try:
            if futures:
                self._client.cancel(futures, force=True)
        finally:
            self._client.close(timeout=5)

    def _finished(self, future: Future[Any], began: float) -> Finished | None:
        """The task's outcome, or None when Dask gave it up after its workers died under
        it (`KilledWorker`): the pool runs it again alone, as it does a local task whose
        worker died, since a task waiting on a worker that another task killed shares its
        suspicion (a task sent ahead waits there: `ahead`)."""
        from distributed import KilledWorker

        seconds = time.monotonic() - began
        if future.status == "cancelled":
            return None, "cancelled on the Dask cluster", seconds
        try:
            text, error, took = future.result(timeout=FETCH_TIMEOUT_S)
        except KilledWorker:
            return None
        except Exception as exc:  # the task could not be unpickled there, say
            return None, one_line(exc), seconds
        return text, error, took


def _probe(address: str) -> None:
    """Check the address and try a plain TCP connection before the client does.

    A scheduler that is not running (connection refused) or a host name that does not
    resolve is then an error at once, where the client would retry until its timeout;
    a port where something else listens (the dashboard's 8787, say) is an error after
    `CONNECT_TIMEOUT_S`, where the client would wait for its handshake for ever. And a
    client that failed can leave later ones in the same process unable to start.
    """
    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        from distributed.comm.registry import get_backend

        get_backend(scheme)
        host, port = parse_host_port(location)
    except ValueError as exc:
        raise EngineError(
            f"{address!r} is not a Dask scheduler address ({exc}): give it as"
            " tcp://host:port, e.g. tcp://10.0.0.5:8786."
        ) from exc
    if scheme != "tcp":
        return  # tls, ws...: the client's own handshake tells
    started = time.monotonic()
    try:
        probe = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except TimeoutError as exc:  # no answer at all: a host that is down, a dropping firewall
        raise _unreachable(address, "no answer to a connection within a few seconds") from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _unreachable(address, reason[:1].lower() + reason[1:]) from exc
    with probe:
        # One bound for the whole probe, connection included.
        probe.settimeout(max(0.5, CONNECT_TIMEOUT_S - (time.monotonic() - started)))
        try:
            first = probe.recv(1)  # a scheduler speaks first: its handshake
        except TimeoutError as exc:  # the client would wait for ever (distributed 2026.8)
            raise _unreachable(address, "something listens there but says nothing") from exc
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise _unreachable(address, reason[:1].lower() + reason[1:]) from exc
    if not first:
        raise _unreachable(address, "something listens there but hangs up")


def _unreachable(address: str, reason: str) -> EngineError:
    return EngineError(
        f"Cannot reach the Dask scheduler at {address} ({reason}): check that it is"
        " running, that the address and port are right (a scheduler listens on 8786"
        " unless told otherwise) and that no firewall is in between."
    )


def _check_workers(client: Client, address: str) -> None:
    """Every worker has this planner's version: otherwise each task would fail there with
    an import error, or worse, compute with other code."""
    try:
        mine = version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree: nothing to compare with
        return
    found = client.run(version, DISTRIBUTION, on_error="return")
    wrong = {worker: theirs for worker, theirs in found.items() if theirs != mine}
    if wrong:
        worker, theirs = sorted(wrong.items(), key=lambda item: str(item[0]))[0]
        has = (
            f"{DISTRIBUTION} {theirs}"
            if isinstance(theirs, str)
            else f"no {DISTRIBUTION} installed"
        )
        raise EngineError(
            f"The Dask worker {worker} of {address} has {has}, but this planner is {mine}:"
            f" install {DISTRIBUTION} {mine} and its dependencies on every worker."
        )
