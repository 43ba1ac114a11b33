"""The real `seq2seq-serve` process: concurrent requests batched, SIGTERM drains in-flight work
and exits 0, bad requests leave it serving."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from conftest import MIRROR, REPO, run_module
from servers import running_server

VAL = gzip.decompress((MIRROR / "val.de.gz").read_bytes()).decode().splitlines()[:32]


@pytest.mark.slow
def test_concurrent_requests_are_batched_and_answered_to_their_callers(trained_run):
    proc = run_module("seq2seq.translate", f"run_dir={trained_run}", "device=cpu",
                      input="\n".join(VAL) + "\n")
    expected = proc.stdout.split("\n")[:32]
    with running_server(trained_run, "serve.max_wait_ms=100") as (_, url):
        with httpx2.Client(base_url=url, timeout=60) as client:
            assert client.post("/v1/translate", json={"text": "bad"}).status_code == 422

            def one(line: str) -> str:
                response = client.post("/v1/translate", json={"text": [line]})
                assert response.status_code == 200, response.text
                return response.json()["translations"][0]["text"]

            with ThreadPoolExecutor(32) as pool:
                got = list(pool.map(one, VAL))
            health = client.get("/v1/health").json()
    assert got == expected
    assert health["requests"] == 32 and health["sentences"] == 32
    assert health["batches"] < 32, health


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_and_exits_0(trained_run):
    # the batcher waits up to 3 s for company, so the request is in flight when SIGTERM comes
    with running_server(trained_run, "serve.max_wait_ms=3000") as (proc, url):
        answer = {}

        def ask():
            answer["response"] = httpx2.post(f"{url}/v1/translate", json={"text": VAL[:4]},
                                            timeout=60)

        thread = threading.Thread(target=ask)
        thread.start()
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        thread.join(timeout=60)
        assert proc.wait(timeout=60) == 0
        waited = time.monotonic() - sent
        output = proc.stdout.read()
    response = answer["response"]
    assert response.status_code == 200, output
    assert len(response.json()["translations"]) == 4
    assert waited > 1.0, "the server should have waited for the request in flight"
    assert "Traceback" not in output


@pytest.mark.slow
def test_the_load_test_script_measures_one_and_many_clients(trained_run):
    proc = subprocess.run(
        [sys.executable, "scripts/load_test.py", "--run", str(trained_run), "--clients", "4",
         "--requests", "2", "--serve", "device=cpu"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in proc.stdout.splitlines()
            if re.match(r"\| [14] \|", line)]
    assert [(int(r[0]), int(r[5])) for r in rows] == [(1, 2), (4, 8)]  # clients, requests
    assert all(float(r[1]) > 0 for r in rows)
    assert "4 clients / 1 client: " in proc.stdout
