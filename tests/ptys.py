"""Driving a command on a pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import os
import pty
import select
import signal
import time


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the command
            # Ctrl-C and Ctrl-\ act as at a person's shell, also when pytest runs in the
            # background, whose commands inherit SIGINT ignored (and Python then keeps it so),
            # or after a test left signals blocked in this process (a mask survives exec)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGQUIT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        self.output = ""

    def read_until(self, text: str, timeout: float = 60.0) -> str:
        """Everything printed from now until text appears (which is included)."""
        start, end = len(self.output), time.monotonic() + timeout
        while text not in self.output[start:]:
            if time.monotonic() > end:
                raise TimeoutError(f"{text!r} not seen; got {self.output[start:][-2000:]!r}; "
                                   f"the command's signals: {self.signal_state()}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise EOFError(self.output[start:])
                self.output += chunk.decode("utf-8", errors="replace")
        return self.output[start:]

    def signal_state(self) -> str:
        """The command's pending, blocked, ignored and caught signals (Linux's masks), or why
        they cannot be read."""
        try:
            status = open(f"/proc/{self.pid}/status").read().splitlines()
        except OSError as exc:
            return f"unreadable ({exc.strerror})"
        return ", ".join(line.replace("\t", " ") for line in status if line.startswith("Sig"))

    def send(self, data: str) -> None:
        os.write(self.fd, data.encode())

    def wait(self, timeout: float = 30.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:  # keep draining so the child never blocks on a full terminal
                if select.select([self.fd], [], [], 0.05)[0]:
                    os.read(self.fd, 65536)
            except OSError:
                pass
        raise TimeoutError("the command did not exit")
