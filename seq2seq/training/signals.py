"""SIGINT/SIGTERM during training: finish the step, save, exit; a second signal exits at once."""

from __future__ import annotations

import logging
import signal
import sys

log = logging.getLogger(__name__)


class StopRequest:
    """Set by SIGINT or SIGTERM; the training loop polls it after each step."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if self.signal_name is not None:
            sys.stderr.write(f"\n{name} again: exiting without saving\n")
            sys.exit(128 + signum)
        self.signal_name = name
        sys.stderr.write(
            f"\n{name}: finishing this step, then saving a checkpoint "
            "(send it again to exit at once)\n"
        )

    def __bool__(self) -> bool:
        return self.signal_name is not None
