"""Choosing the torch device and the training precision from config."""

from __future__ import annotations

import logging

import torch

from seq2seq.errors import UserError

log = logging.getLogger(__name__)


def pick_device(name: str, key: str) -> torch.device:
    """auto -> cuda when available, else cpu; cuda without a GPU is a one-line error naming key."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError(f"{key}=cuda: no CUDA device is available here; use auto or cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX). Without them torch's
    bf16 products fall back to scalar code: a 2-core AVX2 CPU measured 0.3 GFLOP/s in bf16
    against 76 in fp32; with AVX512-BF16, 830 against 200 (scripts/benchmark.py)."""
    # private probes, absent in older torch (where auto then means fp32)
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def pick_precision(name: str, device: torch.device, key: str) -> str:
    """fp32 | bf16 | auto -> fp32 or bf16. auto takes bf16 on a CPU with bf16 matrix
    instructions and fp32 elsewhere: on a GPU (an H200) bf16 autocast trained these GRU models
    at 0.36x the speed of fp32 (README, Speed). bf16 asked for where it is slow is kept, with a
    warning."""
    if name == "auto":
        return "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"
    if name == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        log.warning("%s=bf16: this CPU has no bf16 matrix instructions (AVX512-BF16 or AMX), so "
                    "bf16 trains far slower than fp32 here; use fp32 or auto", key)
    return name
