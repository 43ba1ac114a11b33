"""Widths the model config implies: what the decoder GRU reads besides the target embedding."""

from __future__ import annotations

from seq2seq.config import ModelConfig


def decoder_context_width(model: ModelConfig) -> int:
    """Width of what attention feeds into the decoder GRU input besides the embedding."""
    enc = model.encoder.gru
    directions = 2 if enc.bidirectional else 1
    feeds_context = model.decoder.attention == "bahdanau" and model.decoder.type == "gru"
    width = enc.hidden_size * directions if feeds_context else 0  # cgru: gru2 reads it
    if model.decoder.input_feeding:
        width += model.decoder.gru.hidden_size
    return width


def decoder_embedding_size(model: ModelConfig) -> int:
    """The target embedding width: the decoder GRU's input_size minus the attention inputs."""
    return model.decoder.gru.input_size - decoder_context_width(model)
