"""Load on a running seq2seq-serve: N concurrent clients against one client at a time.

    python scripts/load_test.py http://127.0.0.1:8000 [--clients 16] [--requests 8]
    python scripts/load_test.py --run RUN_DIR [--clients 16] ...   # starts and stops a server

Each client sends --requests requests of --sentences Multi30k validation sentences (the
model's source language, from SEQ2SEQ_DATA_MIRROR) one after the other. Prints sentences/s and
latency p50/p95/p99 for one client and for N clients, measured in the same run, their ratio,
and how many decoding batches the server ran (from /v1/health). Only loopback addresses are
accepted; every request has a 120 s timeout, so the script always ends.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlparse

from seq2seq.serving.process import running_server

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _call(url: str, path: str, body: dict | None = None, key: str | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _sentences(src_lang: str) -> list[str]:
    mirror = Path(os.environ.get("SEQ2SEQ_DATA_MIRROR", "../shared/data/multi30k"))
    path = mirror / f"val.{src_lang}.gz"
    if not path.is_file():
        sys.exit(f"error: {path}: no Multi30k validation file (set SEQ2SEQ_DATA_MIRROR)")
    return [line for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line]


def _client(url: str, texts: list[list[str]], body: dict, key: str | None) -> list[float]:
    """Latencies (s) of one client's requests, sent one after the other."""
    latencies = []
    for text in texts:
        start = time.perf_counter()
        _call(url, "/v1/translate", {**body, "text": text}, key)
        latencies.append(time.perf_counter() - start)
    return latencies


def measure(url: str, clients: int, requests: int, sentences: int, body: dict,
            key: str | None, pool: list[str]) -> dict:
    """sentences/s and latency percentiles of `clients` clients sending at once."""
    jobs = [[[pool[(c * requests * sentences + r * sentences + i) % len(pool)]
              for i in range(sentences)] for r in range(requests)] for c in range(clients)]
    before = _call(url, "/v1/health", key=key)
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as executor:
        latencies = [x for done in executor.map(lambda j: _client(url, j, body, key), jobs)
                     for x in done]
    seconds = time.perf_counter() - start
    after = _call(url, "/v1/health", key=key)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"clients": clients, "sent_s": clients * requests * sentences / seconds,
            "p50": cuts[49], "p95": cuts[94], "p99": cuts[98],
            "requests": after["requests"] - before["requests"],
            "batches": after["batches"] - before["batches"]}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="a running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--run", help="start seq2seq-serve for this run directory instead")
    parser.add_argument("--serve", nargs="*", default=[], help="overrides for that server")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=8, help="requests per client")
    parser.add_argument("--sentences", type=int, default=1, help="sentences per request")
    parser.add_argument("--beam", type=int, default=None, help="beam size (server's default)")
    parser.add_argument("--key", default=os.environ.get("SEQ2SEQ_API_KEY"))
    args = parser.parse_args()
    if bool(args.url) == bool(args.run):
        parser.error("give a server URL or --run RUN_DIR")
    if args.url and urlparse(args.url).hostname not in LOOPBACK:
        parser.error(f"{args.url}: only servers on this machine (loopback) are load-tested")
    return args


def main() -> None:
    args = _arguments()
    with running_server(args.run, args.serve) if args.run else nullcontext(
            (None, args.url.rstrip("/"))) as (_, url):
        info = _call(url, "/v1/model", key=args.key)
        pool = _sentences(info["src_lang"])
        body = {} if args.beam is None else {"beam_size": args.beam}
        measure(url, 1, 2, args.sentences, body, args.key, pool)  # warm-up
        one = measure(url, 1, args.requests, args.sentences, body, args.key, pool)
        many = measure(url, args.clients, args.requests, args.sentences, body, args.key, pool)
    beam = info["decode"]["beam_size"] if args.beam is None else args.beam
    print(f"server: {url}, {info['pair']}, {info['parameters']:,} parameters, beam {beam}; "
          f"{args.requests} requests of {args.sentences} sentence(s) per client\n")
    print("| clients | sentences/s | p50 ms | p95 ms | p99 ms | requests | decoding batches |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in (one, many):
        print(f"| {r['clients']} | {r['sent_s']:.1f} | {1000 * r['p50']:.0f} | "
              f"{1000 * r['p95']:.0f} | {1000 * r['p99']:.0f} | {r['requests']} | "
              f"{r['batches']} |")
    print(f"\n{args.clients} clients / 1 client: {many['sent_s'] / one['sent_s']:.2f}x sentences/s")


if __name__ == "__main__":
    main()
