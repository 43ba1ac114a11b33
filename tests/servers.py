"""Starting the real `seq2seq-serve` process on a free loopback port, for tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager

from conftest import MIRROR, REPO


@contextmanager
def running_server(run, *overrides: str, timeout: float = 120.0):
    """(process, base URL) of `python -m seq2seq.serve` on 127.0.0.1 and a free port; the
    process is stopped (SIGTERM, then SIGKILL) when the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "seq2seq.serve", f"run_dir={run}", "device=cpu",
         "serve.host=127.0.0.1", "serve.port=0", *overrides],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR), "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline, seen = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen += line
            found = re.search(r"serving \S+ on (http://127\.0\.0\.1:\d+)/", line)
            if found:
                yield proc, found.group(1)
                break
            if not line and proc.poll() is not None:
                raise RuntimeError(f"seq2seq-serve exited {proc.returncode}: {seen}")
        else:
            raise TimeoutError(f"seq2seq-serve did not start: {seen}")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
