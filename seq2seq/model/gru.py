"""An nn.GRU from its config section, and which sections set a dropout that nn.GRU never
applies (it drops out between stacked layers only, so not in a one-layer GRU)."""

from __future__ import annotations

import dataclasses
import warnings

from torch import nn

from seq2seq.config import GRUConfig, ModelConfig

# torch's warning for dropout in a one-layer GRU, a file:line on stderr each time one is built
# (and again when int8 rebuilds it); training logs idle_dropout once instead, by config key
ONE_LAYER_DROPOUT = "dropout option adds dropout after all but last recurrent layer"


def build_gru(cfg: GRUConfig) -> nn.GRU:
    """nn.GRU(**cfg), without torch's one-layer dropout warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=ONE_LAYER_DROPOUT)
        return nn.GRU(**dataclasses.asdict(cfg))


def idle_dropout(model: ModelConfig) -> list[str]:
    """One line for each of the model's GRUs whose dropout has no effect."""
    sections = {"model.encoder.gru": model.encoder.gru, "model.decoder.gru": model.decoder.gru}
    if model.decoder.type == "cgru":
        sections["model.decoder.gru2"] = model.decoder.gru2
    return [f"{key}.dropout={gru.dropout} does nothing with {key}.num_layers=1: nn.GRU applies "
            "dropout between its stacked layers only"
            for key, gru in sections.items() if gru.dropout > 0 and gru.num_layers == 1]
