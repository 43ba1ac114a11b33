"""Choosing the torch device and the precision from config."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import torch

from seq2seq import precision
from seq2seq.config import DEVICES, DEVICES_IN_WORDS
from seq2seq.errors import UserError

log = logging.getLogger(__name__)


def pick_device(name: str, key: str) -> torch.device:
    """auto -> cuda when available, else cpu; cpu, cuda or cuda:N as named. Another name, or
    cuda without a GPU, is a one-line error naming key."""
    if not isinstance(name, str) or not re.fullmatch(DEVICES, name):
        raise UserError(f"{key}={name!r}: accepted values are {DEVICES_IN_WORDS}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"{key}={name}: no CUDA device is available here; use auto or cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def pick_precision(name: str, device: torch.device, key: str,
                   measure: Callable[[str], float] | None = None, shape: str = "") -> str:
    """fp32 | bf16 | fp16 | auto -> fp32, bf16 or fp16. auto measures (seq2seq.precision.choose:
    measure gives the seconds of the model's own work in a precision; shape names the model in
    the cache). bf16 asked for on a CPU without bf16 matrix instructions, and fp16 on any CPU,
    are kept, with a warning."""
    if name == "auto":
        if measure is None:
            raise ValueError("precision=auto needs a measure")
        return precision.choose(shape, key, precision.candidates(device), measure, device)
    if name == "bf16" and device.type == "cpu" and not precision.cpu_has_bf16():
        log.warning("%s=bf16: this CPU has no bf16 matrix instructions (AVX512-BF16 or AMX), so "
                    "bf16 runs far slower than fp32 here; use fp32 or auto", key)
    if name == "fp16" and device.type == "cpu":
        log.warning("%s=fp16 is meant for CUDA GPUs; on a CPU it is rarely faster than fp32 "
                    "(auto measures)", key)
    return name


def use_tf32(device: torch.device, enabled: bool) -> None:
    """On a CUDA device, let fp32 matrix products and cuDNN's GRUs run in TF32 (10-bit
    mantissa inputs, fp32 accumulation) or not; nothing on a CPU."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled
