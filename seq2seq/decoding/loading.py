"""The one way to open a trained model: a run directory or checkpoint, alone or with an
ensemble, on a device, at a precision, optionally quantised.

Every command, the Python API, the benchmark and the tests open models through `open_model`.
Nothing here imports the training loop: a checkpoint holds everything needed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seq2seq import checkpoint as ckpt
from seq2seq.apps import FromCheckpoint
from seq2seq.config import DecodeConfig
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.decoding.search import Hypothesis
from seq2seq.decoding.translation import settings_from, translate_ids
from seq2seq.devices import pick_device, pick_precision
from seq2seq.errors import UserError
from seq2seq.model.ensemble import Decodable, Ensemble
from seq2seq.model.gru import ONE_LAYER_DROPOUT
from seq2seq.overrides import explicit_values, model_for_checkpoint
from seq2seq.precision import LOW, timed

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
QUANTIZE = ("none", "int8")


@dataclass
class Loaded:
    """A model ready to translate, with what it was trained from."""

    model: Decodable  # a Seq2Seq, or an Ensemble of several, in eval mode on its device
    tokenizer: Tokenizer
    config: dict  # the run's config as saved (the first model's, in an ensemble)
    path: Path  # the first model's checkpoint file
    parameters: int = 0  # trainable parameters of all members, counted before quantisation
    members: list[Path] = field(default_factory=list)  # every model's checkpoint, path first
    precision: str = "fp32"

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def search(self, src_ids: list[list[int]], decode: DecodeConfig, *, attention: bool = False,
               progress: bool = False) -> list[list[Hypothesis]]:
        """The hypotheses of each source (subword ids without EOS), searched as decode says,
        in this model's precision, in the order given."""
        special = self.tokenizer.special
        return translate_ids(
            self.model, src_ids, settings=settings_from(decode, special, attention),
            strategy=decode.strategy, batch_size=decode.batch_size, pad_id=special.pad,
            device=self.device, progress=progress,
        )


def at_precision(model: Decodable, precision: str) -> Decodable:
    """model with its weights in precision's dtype (bf16, fp16), or as it is for fp32.

    Decoding in bf16 or fp16 runs the model in that dtype rather than under autocast, which
    casts every product's fp32 input on each call: beam 5 decoded 1.1-1.25x as fast this way on
    an AMD EPYC with AVX512-BF16, with the same BLEU. Log-probabilities and beam scores stay
    fp32 (Seq2Seq.step_log_probs), as do the attention's softmax sums."""
    return model.to(LOW[precision]) if precision in LOW else model


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the GRU and Linear layers (CPU inference).

    torch.ao.quantization.quantize_dynamic is deprecated from torch 2.10 in favour of torchao,
    whose int8 path has no GRU; it still works in the torch versions we support
    (tests/test_fast_variants.py), so its deprecation warnings are kept from users here."""
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.ao.quantization is deprecated")
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated")
        warnings.filterwarnings("ignore", message=ONE_LAYER_DROPOUT)
        return quantize_dynamic(model, {torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8)


def _same_vocabulary(a: Tokenizer, b: Tokenizer) -> bool:
    return (a.src_proto, a.tgt_proto or a.src_proto) == (b.src_proto, b.tgt_proto or b.src_proto)


def _members(paths: list[Path], model_changes: dict[str, Any]) -> tuple[list, Tokenizer, dict]:
    """Each checkpoint's model (with the layout changes), the first's tokenizer and config;
    the others must share that tokenizer."""
    models, first = [], None
    for path in paths:
        checkpoint = ckpt.load(path)
        if first is None:
            first = checkpoint
        elif not _same_vocabulary(checkpoint.tokenizer, first.tokenizer):
            raise UserError(
                f"ensemble: {path} was trained with another tokenizer than {first.path}; the "
                "models of an ensemble need the same subword vocabulary"
            )
        model_cfg = model_for_checkpoint(checkpoint.config.get("model", {}), model_changes,
                                         str(path))
        models.append(checkpoint.build(model_cfg))
    return models, first.tokenizer, first.config


# The decoding probe: a warm-up and two timed searches, each over sources of another length in
# subwords (new shapes, as real input brings; see seq2seq.training.probe), in batches of the
# decode's own size (the rows a step's products have set what bf16 gains), at most PROBE_BATCH
# sentences (greedy search's default) so that it takes seconds on a CPU
PROBE_LENGTHS = (8, 10, 12)
PROBE_BATCH = 256


def _probe_search(decode: DecodeConfig) -> DecodeConfig:
    """decode's search as the probe runs it: at most PROBE_BATCH sentences a batch, each
    searched to its cap, source length + 4 subwords (min_len above every cap)."""
    return dataclasses.replace(decode, batch_size=min(decode.batch_size, PROBE_BATCH),
                               max_len_a=1.0, max_len_b=4, min_len=max(PROBE_LENGTHS) + 4,
                               n_best=1)


def _decode_seconds(model: Decodable, tokenizer: Tokenizer, precision: str,
                    device: torch.device, probe: DecodeConfig) -> float:
    """Median seconds of probe's search (_probe_search) over a batch of random sources of each
    of PROBE_LENGTHS but the first (a warm-up), in turn."""
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(4, tokenizer.src_vocab_size, (probe.batch_size, n),
                             generator=g).tolist() for n in PROBE_LENGTHS]
    special = tokenizer.special
    settings = settings_from(probe, special)
    candidate = at_precision(copy.deepcopy(model), precision) if precision in LOW else model
    queue = iter(batches)

    def run() -> None:
        translate_ids(candidate, next(queue), settings=settings, strategy=probe.strategy,
                      batch_size=probe.batch_size, pad_id=special.pad, device=device)

    return timed(run, device, repeats=len(batches) - 1)


def _precision(precision: str, quantize: str, model: Decodable, tokenizer: Tokenizer,
               config: dict, device: torch.device, decode: DecodeConfig) -> str:
    """precision as asked, with auto measured on this model in decode's search (fp32 for an
    int8 model)."""
    if quantize == "int8":
        if precision in LOW:
            raise UserError(f"decode.precision={precision}: an int8 model (decode.quantize=int8) "
                            "decodes with its own int8 kernels; ask for one of the two")
        return "fp32"
    if precision != "auto":
        return pick_precision(precision, device, "decode.precision")
    probe = _probe_search(decode)
    shape = json.dumps([config["model"], tokenizer.src_vocab_size, tokenizer.tgt_vocab_size,
                        sum(p.numel() for p in model.parameters()), probe.strategy,
                        probe.beam_size, probe.batch_size])
    return pick_precision("auto", device, "decode.precision", shape=shape,
                          measure=lambda p: _decode_seconds(model, tokenizer, p, device, probe))


def _check_choice(name: str, value: str, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise UserError(f"{name}={value!r}: accepted values are {', '.join(accepted)}")


def open_model(
    source: str | Path,
    *,
    which: str = "best",
    ensemble: Sequence[str | Path] = (),
    device: str = "auto",
    precision: str = "fp32",
    quantize: str = "none",
    model_changes: dict[str, Any] | None = None,
    decode: DecodeConfig | None = None,
) -> Loaded:
    """The model of source (a run directory, whose checkpoints/WHICH.pt is taken, or a
    checkpoint file), decoding as one Ensemble with the models of `ensemble` if any, on device
    (auto: CUDA when there is one), in eval mode. precision: fp32 | bf16 | fp16 (the weights
    in that dtype) | auto (measured here); quantize: none | int8 (dynamic, CPU only).
    model_changes ({"model.KEY": value}) may change layout and dropout, not the weights'
    shapes. decode (default DecodeConfig()) is the search that auto times: its strategy, beam
    and batch size."""
    _check_choice("precision", precision, PRECISIONS)
    _check_choice("quantize", quantize, QUANTIZE)
    path = ckpt.resolve(source, which)
    paths = [path]
    for entry in ensemble:
        try:
            paths.append(ckpt.resolve(entry, which))
        except UserError as exc:
            raise UserError(f"ensemble: {exc}") from exc
    models, tokenizer, config = _members(paths, model_changes or {})
    parameters = sum(p.numel() for m in models for p in m.parameters())
    target = pick_device(device, "device")
    decodable = models[0] if len(models) == 1 else Ensemble(models)
    if quantize == "int8":
        if target.type != "cpu":
            raise UserError(
                "decode.quantize=int8: dynamic quantisation runs on the CPU; add device=cpu"
            )
        decodable = quantize_int8(decodable)
    decodable = decodable.to(target)
    precision = _precision(precision, quantize, decodable, tokenizer, config, target,
                           decode or DecodeConfig())
    decodable = at_precision(decodable, precision)
    return Loaded(model=decodable, tokenizer=tokenizer, config=config, path=path,
                  parameters=parameters, members=paths, precision=precision)


def open_configured(cfg: FromCheckpoint, overrides: list[str]) -> Loaded:
    """open_model as a command's config says (run_dir or checkpoint, which, ensemble, device,
    decode, threads), with this command line's model.* overrides."""
    if cfg.run_dir and cfg.checkpoint:
        raise UserError("give run_dir=PATH or checkpoint=PATH, not both")
    if not (cfg.run_dir or cfg.checkpoint):
        raise UserError("no model given: add run_dir=PATH (a training run) or checkpoint=PATH")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    return open_model(
        cfg.run_dir or cfg.checkpoint, which=cfg.which, ensemble=cfg.ensemble, device=cfg.device,
        precision=cfg.decode.precision, quantize=cfg.decode.quantize,
        model_changes=explicit_values(cfg, overrides, ("model",)), decode=cfg.decode,
    )
