"""One training per run directory: an OS file lock (flock) on RUN/.lock, held while training.

The kernel drops the lock when its holder exits, SIGKILL included, so a crashed run never
leaves the directory locked. The lock file names the holder (PID and host) for the message
that refuses a second training or resume into the directory.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from seq2seq.errors import UserError

LOCK_NAME = ".lock"
_held: dict[Path, int] = {}  # run directories this process holds, with the lock file's fd


def _holder(fd: int) -> str:
    try:
        pid, _, host = os.pread(fd, 200, 0).decode().strip().partition(" ")
    except (OSError, UnicodeDecodeError):
        return "another process"
    return f"PID {pid} on {host}" if pid else "another process"


def hold(run: Path, key: str = "hydra.run.dir") -> None:
    """Take run's lock for this process (again: nothing to do); a directory another process
    trains in is a one-line UserError naming the holder."""
    run = Path(run).resolve()
    if run in _held:
        return
    run.mkdir(parents=True, exist_ok=True)
    fd = os.open(run / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise UserError(f"{key}={run}: another training is using this run directory ({holder}); "
                        "wait for it or stop it, or train into another directory") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
    _held[run] = fd


def release(run: Path) -> None:
    """Give run's lock back (a process that ends gives it back anyway)."""
    fd = _held.pop(Path(run).resolve(), None)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def check_free(run: Path, key: str) -> None:
    """A one-line UserError if another process holds run's lock (e.g. the run to resume)."""
    run = Path(run).resolve()
    if run in _held or not (run / LOCK_NAME).is_file():
        return
    fd = os.open(run / LOCK_NAME, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UserError(f"{key}={run}: another training is writing that run ({_holder(fd)}); "
                        "resume it once that training has stopped") from None
    finally:
        os.close(fd)
