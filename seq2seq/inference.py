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
from seq2seq.model.ensemble import Ensemble
from seq2seq.model.seq2seq import Seq2Seq
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


def _vocabulary(tokenizer: Tokenizer) -> tuple[bytes, bytes]:
    return tokenizer.src_proto, tokenizer.tgt_proto or tokenizer.src_proto


def _member(
    path: Path, cfg: Any, overrides: list[str], first: Path | None = None,
    tokenizer: Tokenizer | None = None,
) -> tuple[dict, Tokenizer, Seq2Seq]:
    """A checkpoint's payload, tokenizer and model (with the command line's model overrides);
    for a further member of an ensemble, checked to share the first model's tokenizer."""
    payload = ckpt.load(path)
    own = _tokenizer(payload, path)
    if tokenizer is not None and _vocabulary(own) != _vocabulary(tokenizer):
        raise UserError(
            f"ensemble: {path} was trained with another tokenizer than {first}; the models of "
            "an ensemble need the same subword vocabulary"
        )
    model_cfg = model_for_checkpoint(payload["config"]["model"], cfg, overrides)
    model = ckpt.build_model(model_cfg, own)
    ckpt.load_weights(model, payload["model"], path)
    return payload, own, model.eval()


def _ensemble_paths(cfg: Any) -> list[Path]:
    paths = []
    for entry in cfg.ensemble:
        try:
            paths.append(ckpt.resolve(entry, cfg.which))
        except UserError as exc:
            raise UserError(f"ensemble: {exc}") from exc
    return paths


def open_model(cfg: Any, overrides: list[str]) -> ckpt.Loaded:
    """The model of cfg.run_dir or cfg.checkpoint (with those of cfg.ensemble, an Ensemble), with
    this command line's model overrides (layout and dropout only), on cfg.device, in eval mode,
    quantised if decode.quantize=int8."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    path = checkpoint_path(cfg.run_dir, cfg.checkpoint, cfg.which)
    payload, tokenizer, model = _member(path, cfg, overrides)
    models, paths = [model], [path]
    for other in _ensemble_paths(cfg):
        models.append(_member(other, cfg, overrides, path, tokenizer)[2])
        paths.append(other)
    parameters = sum(p.numel() for m in models for p in m.parameters())
    device = pick_device(cfg.device, "device")
    decodable = models[0] if len(models) == 1 else Ensemble(models)
    if cfg.decode.quantize == "int8":
        if device.type != "cpu":
            raise UserError(
                "decode.quantize=int8: dynamic quantisation runs on the CPU; add device=cpu"
            )
        decodable = quantize_int8(decodable)
    return ckpt.Loaded(
        model=decodable.to(device), tokenizer=tokenizer, config=payload["config"], path=path,
        parameters=parameters, members=paths,
    )


def run_data_config(saved: dict, cfg: Any, overrides: list[str]) -> DataConfig:
    """The run's data config with this command line's data.* overrides."""
    merged = merge_explicit({"data": saved["data"]}, cfg, overrides, ("data",))
    return typed(DataConfig, merged["data"], "data")
