"""Long-running commands (`smartsite worker`, `smartsite simulate`) stop cleanly on SIGTERM or
Ctrl-C: the signal only sets a flag that the loop checks between units of work."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class StopFlag:
    requested = False

    def __call__(self, *_args) -> None:
        self.requested = True


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopFlag]:
    """Within the block SIGTERM and SIGINT set the flag instead of interrupting; the previous
    handlers come back afterwards."""
    flag = StopFlag()
    previous = {sig: signal.signal(sig, flag) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
