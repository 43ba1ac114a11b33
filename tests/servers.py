"""Starting the real `seq2seq-serve` process on a free loopback port, for tests."""

from __future__ import annotations

import os

from conftest import MIRROR, REPO

from seq2seq.serving.process import running_server as _running


def running_server(run, *overrides: str):
    """(process, base URL) of seq2seq-serve for run on the CPU, started from the repository."""
    env = {**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR), "PYTHONUNBUFFERED": "1"}
    return _running(run, ["device=cpu", *overrides], env=env, cwd=REPO)
