"""Opening a trained model for evaluation or translation, from a run directory or checkpoint.

Nothing here imports the training loop: a checkpoint holds everything needed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from seq2seq import checkpoint as ckpt
from seq2seq.config import DataConfig
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.devices import pick_device
from seq2seq.errors import UserError
from seq2seq.overrides import merge_explicit, model_for_checkpoint, typed

log = logging.getLogger(__name__)


def checkpoint_path(run_dir: str | None, checkpoint: str | None, which: str) -> Path:
    if run_dir and checkpoint:
        raise UserError("give run_dir=PATH or checkpoint=PATH, not both")
    if not (run_dir or checkpoint):
        raise UserError("no model given: add run_dir=PATH (a training run) or checkpoint=PATH")
    return ckpt.resolve(run_dir or checkpoint, which)


def run_of(path: Path) -> Path:
    """The run directory a checkpoint file belongs to (its folder when not in checkpoints/)."""
    return path.parent.parent if path.parent.name == ckpt.CHECKPOINT_DIR else path.parent


def _tokenizer(payload: dict, path: Path) -> Tokenizer:
    """The checkpoint's tokenizer; failing that, the run directory's tokenizer/ folder."""
    if payload.get("tokenizer"):
        return ckpt.tokenizer_of(payload, path)
    folder = run_of(path) / "tokenizer"
    try:
        return Tokenizer.load(folder)
    except UserError as exc:
        raise UserError(
            f"{path}: the checkpoint holds no tokenizer and the run's is missing: {exc}"
        ) from exc


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the GRU and Linear layers (CPU inference)."""
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(model, {torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8)


def open_model(cfg: Any, overrides: list[str]) -> ckpt.Loaded:
    """The model of cfg.run_dir or cfg.checkpoint, with this command line's model overrides
    (layout and dropout only), on cfg.device, in eval mode, quantised if decode.quantize=int8."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    path = checkpoint_path(cfg.run_dir, cfg.checkpoint, cfg.which)
    payload = ckpt.load(path)
    tokenizer = _tokenizer(payload, path)
    model_cfg = model_for_checkpoint(payload["config"]["model"], cfg, overrides)
    model = ckpt.build_model(model_cfg, tokenizer)
    ckpt.load_weights(model, payload["model"], path)
    model.eval()
    parameters = sum(p.numel() for p in model.parameters())
    device = pick_device(cfg.device, "device")
    if cfg.decode.quantize == "int8":
        if device.type != "cpu":
            raise UserError(
                "decode.quantize=int8: dynamic quantisation runs on the CPU; add device=cpu"
            )
        model = quantize_int8(model)
    return ckpt.Loaded(
        model=model.to(device), tokenizer=tokenizer, config=payload["config"], path=path,
        parameters=parameters,
    )


def run_data_config(saved: dict, cfg: Any, overrides: list[str]) -> DataConfig:
    """The run's data config with this command line's data.* overrides."""
    merged = merge_explicit({"data": saved["data"]}, cfg, overrides, ("data",))
    return typed(DataConfig, merged["data"], "data")
