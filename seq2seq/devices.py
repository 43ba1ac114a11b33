"""Choosing the torch device from config."""

from __future__ import annotations

import torch

from seq2seq.errors import UserError


def pick_device(name: str, key: str) -> torch.device:
    """auto -> cuda when available, else cpu; cuda without a GPU is a one-line error naming key."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError(f"{key}=cuda: no CUDA device is available here; use auto or cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
