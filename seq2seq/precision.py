"""precision=auto: the precision that runs this model's own work fastest here, by measuring.

CPU flags do not say whether bf16 pays: on one 2-core CPU with AVX512-BF16 it trained at 1.9x
fp32, on another with the same flag at 0.57x (README, Speed). So `auto` times a few steps of
the real work in each candidate precision and keeps fp32 unless another is faster by more than
the noise margin. The choice is cached per machine, torch version, device and model shape
(in $SEQ2SEQ_CACHE_DIR, else ~/.cache/seq2seq), so the measuring happens once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import torch

log = logging.getLogger(__name__)
NOISE = 0.05  # another precision must be this much faster than fp32 to be chosen


LOW = {"bf16": torch.bfloat16, "fp16": torch.float16}  # the autocast precisions


def autocast(precision: str, device: torch.device) -> AbstractContextManager:
    """The context a precision runs in: bf16 or fp16 autocast, or nothing for fp32."""
    if precision in LOW:
        return torch.autocast(device.type, dtype=LOW[precision])
    return nullcontext()


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX). Without them torch's
    bf16 products fall back to scalar code (0.3 GFLOP/s against 76 in fp32 on a 2-core AVX2
    CPU), too slow even to measure."""
    # private probes, absent in older torch (where auto then means fp32)
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def candidates(device: torch.device) -> list[str]:
    """The precisions worth measuring on device (fp16 only on a GPU: CPUs have no fp16 matrix
    products worth the gradient scaling it needs)."""
    if device.type == "cuda":
        return ["fp32", "bf16", "fp16"]
    if cpu_has_bf16():
        return ["fp32", "bf16"]
    return ["fp32"]


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return os.uname().machine


def machine(device: torch.device, threads: int | None = None) -> str:
    """The processor, its cores and the threads used (default: torch's), the torch version,
    and the GPU when device is one: what the cache key and the benchmark name."""
    threads = threads or torch.get_num_threads()
    text = f"{cpu_name()} ({os.cpu_count()} cores, {threads} threads), torch {torch.__version__}"
    if device.type == "cuda":
        text += f", {torch.cuda.get_device_name(device)}"
    return text


def _cache_file() -> Path:
    root = os.environ.get("SEQ2SEQ_CACHE_DIR") or Path.home() / ".cache" / "seq2seq"
    return Path(root) / "precision.json"


def _read_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, key: str, entry: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cache = _read_cache(path)
        cache[key] = entry
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError as exc:  # a cache that cannot be written only costs measuring again
        log.warning("%s: cannot keep the precision measured (%s)", path, exc.strerror)


def timed(run: Callable[[], None], device: torch.device, repeats: int = 2) -> float:
    """Median seconds of run() over repeats, after one warm-up run."""
    times = []
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def choose(key: str, what: str, options: list[str], measure: Callable[[str], float],
           device: torch.device) -> str:
    """The fastest of options by measure(precision) -> seconds (fp32 unless another wins by
    more than NOISE), cached under what, key (the model's shape) and this machine."""
    if options == ["fp32"]:
        log.info("%s=auto: fp32 (no bf16 matrix instructions here)", what)
        return "fp32"
    full_key = hashlib.sha256(f"{what}|{machine(device)}|{device.type}|{key}".encode()).hexdigest()
    path = _cache_file()
    cached = _read_cache(path).get(full_key)
    if cached and cached.get("choice") in options:
        log.info("%s=auto: %s (measured before on this machine: %s)", what, cached["choice"],
                 _figures(cached["seconds"]))
        return cached["choice"]
    seconds = {p: measure(p) for p in options}
    best = min(options, key=seconds.get)
    choice = best if seconds[best] < (1 - NOISE) * seconds["fp32"] else "fp32"
    log.info("%s=auto: %s (measured: %s)", what, choice, _figures(seconds))
    _write_cache(path, full_key, {"choice": choice, "seconds": seconds, "what": what,
                                  "machine": machine(device)})
    return choice


def _figures(seconds: dict) -> str:
    return ", ".join(f"{p} {1000 * s:.0f} ms" for p, s in seconds.items())
