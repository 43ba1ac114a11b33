"""An nn.GRU from its config section, one step of it for the training step loop, and which
sections set a dropout that nn.GRU never applies (it drops out between stacked layers only, so
not in a one-layer GRU)."""

from __future__ import annotations

import dataclasses
import warnings

import torch
from torch import nn

from seq2seq.config import GRUConfig, ModelConfig
from seq2seq.model.dropout import dropout

# torch's warning for dropout in a one-layer GRU, a file:line on stderr each time one is built
# (and again when int8 rebuilds it); training logs idle_dropout once instead, by config key
ONE_LAYER_DROPOUT = "dropout option adds dropout after all but last recurrent layer"


def build_gru(cfg: GRUConfig) -> nn.GRU:
    """nn.GRU(**cfg), without torch's one-layer dropout warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=ONE_LAYER_DROPOUT)
        return nn.GRU(**dataclasses.asdict(cfg))


def gru_step(gru: nn.GRU, x: torch.Tensor, hidden: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of a unidirectional gru, layer by layer through torch.gru_cell: x (B, I), hidden
    (L, B, H) -> top layer's output (B, H), new hidden (L, B, H).

    The numbers of one step of gru itself (the same cell, in fp32 and under autocast),
    except that in training the dropout between layers is seq2seq.model.dropout's: inside
    nn.GRU it draws one Bernoulli number an element, about 1 ms a step for 170 x 512 on a 2-core
    EPYC, 2.5% of a bf16 update at Joey NMT's reference size, which calls the decoder GRU once
    a target position."""
    p = gru.dropout if gru.training else 0.0
    new: list[torch.Tensor] = []
    for k, weights in enumerate(gru.all_weights):  # [w_ih, w_hh(, b_ih, b_hh)] a layer
        new.append(torch.gru_cell(dropout(new[-1], p) if k else x, hidden[k], *weights))
    return new[-1], torch.stack(new)


def idle_dropout(model: ModelConfig) -> list[str]:
    """One line for each of the model's GRUs whose dropout has no effect."""
    sections = {"model.encoder.gru": model.encoder.gru, "model.decoder.gru": model.decoder.gru}
    if model.decoder.type == "cgru":
        sections["model.decoder.gru2"] = model.decoder.gru2
    return [f"{key}.dropout={gru.dropout} does nothing with {key}.num_layers=1: nn.GRU applies "
            "dropout between its stacked layers only"
            for key, gru in sections.items() if gru.dropout > 0 and gru.num_layers == 1]
