"""How the orders processes host their parts: loops in threads, the HTTP server beside them.

Every part stops on SIGINT/SIGTERM: the API stops serving, the loops finish their pass, the
threads are joined, then the process exits 0. A part that fails or ends on its own stops the
whole process with status 1, so a supervisor restarts it rather than leaving half a service.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

log = logging.getLogger("orders.cli")

JOIN_TIMEOUT_SECONDS = 30.0


@dataclass
class Loop:
    """A long-running part of the process: ``target(stop)`` returns once ``stop`` is set."""

    name: str
    target: Callable[[threading.Event], None]


class Supervisor:
    """Runs loops in threads (and optionally a uvicorn server) until a signal or a failure."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.failed = False
        self.threads: list[threading.Thread] = []

    def _guarded(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except SystemExit as exit:
                # uvicorn exits this way when it cannot start (it logged why)
                log.error("%s exited with %s; stopping the process", name, exit.code)
                self.failed = True
            except BaseException:
                log.exception("%s failed; stopping the process", name)
                self.failed = True
            finally:
                if not self.stop.is_set():
                    if not self.failed:
                        log.error("%s ended unexpectedly; stopping the process", name)
                        self.failed = True
                    self.stop.set()

        return run

    def start(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._guarded(name, target), name=name)
        thread.start()
        self.threads.append(thread)

    def run(self, loops: Sequence[Loop], server: Any | None = None) -> int:
        """Run until SIGINT/SIGTERM (or a part fails); 0 after a clean stop, 1 after a failure."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            if server is not None:
                self.start("api", server.run)
            for loop in loops:
                self.start(loop.name, functools.partial(loop.target, self.stop))
            while not self.stop.wait(0.5):
                pass
        finally:
            self.stop.set()
            if server is not None:
                server.should_exit = True
            for thread in self.threads:
                thread.join(JOIN_TIMEOUT_SECONDS)
                if thread.is_alive():
                    log.error("%s did not stop within %.0fs", thread.name, JOIN_TIMEOUT_SECONDS)
                    self.failed = True
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("stopped")
        return 1 if self.failed else 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stop.is_set():
            log.info("%s received; stopping", signal.Signals(signum).name)
        self.stop.set()
