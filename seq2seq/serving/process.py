"""`seq2seq-serve` in a child process on a free loopback port: for tests, the load test and
the page's screenshot."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def running_server(run: str | Path, overrides: list[str] = (), timeout: float = 120.0,
                   env: dict | None = None,
                   cwd: str | Path | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """(process, base URL) of `python -m seq2seq.serve run_dir=RUN` on 127.0.0.1 and a free
    port, with these overrides; stopped (SIGTERM, then SIGKILL) when the block ends. Its
    output, after the line naming the URL, stays readable from process.stdout."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "seq2seq.serve", f"run_dir={run}", "serve.host=127.0.0.1",
         "serve.port=0", *overrides],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    try:
        deadline, seen = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen += line
            found = re.search(r"serving \S+ on (http://127\.0\.0\.1:\d+)/", line)
            if found:
                yield proc, found.group(1)
                return
            if not line and proc.poll() is not None:
                raise RuntimeError(f"seq2seq-serve exited {proc.returncode}: {seen[-2000:]}")
        raise TimeoutError(f"seq2seq-serve did not start in {timeout:.0f} s: {seen[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
