"""A saved run config, changed only by what the user typed on this command line.

Resuming, evaluating and translating start from the config stored in a checkpoint; an
override given now (`key=value`, or `group=option` for a whole section) replaces the saved
value, and everything else stays as the run had it. Changes that would alter the weights'
shapes are refused.
"""

from __future__ import annotations

import copy
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from seq2seq.config import ModelConfig
from seq2seq.errors import UserError

# keys that shape the weights; the others (batch_first, dropouts) may change freely
_GRU_SHAPE_KEYS = ("input_size", "hidden_size", "num_layers", "bias", "bidirectional")


def _set(tree: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[last] = value


def explicit_keys(overrides: list[str], sections: tuple[str, ...]) -> list[str]:
    """The dotted keys (or whole sections) these command-line overrides set within sections."""
    keys = []
    for o in OverridesParser.create().parse_overrides(overrides):
        key = o.key_or_group
        if key.split(".")[0] in sections and not o.is_delete():
            keys.append(key)
    return keys


def explicit_values(composed: Any, overrides: list[str], sections: tuple[str, ...]) -> dict:
    """{dotted key: value} of composed (this command's config) at each key (or whole section)
    that the command line set within sections."""
    current = OmegaConf.structured(composed)
    values = {}
    for key in explicit_keys(overrides, sections):
        value = OmegaConf.select(current, key)
        values[key] = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    return values


def apply(saved: dict, changes: dict[str, Any]) -> dict:
    """A copy of saved (plain dict) with each dotted key of changes set to its value."""
    result = copy.deepcopy(saved)
    for key, value in changes.items():
        _set(result, key, copy.deepcopy(value))
    return result


def merge_explicit(
    saved: dict, composed: Any, overrides: list[str], sections: tuple[str, ...]
) -> dict:
    """saved (plain dict) with the values of composed (this command's config) at each key the
    command line set within sections."""
    return apply(saved, explicit_values(composed, overrides, sections))


def architecture_differences(saved: ModelConfig, wanted: ModelConfig) -> list[str]:
    """`key=wanted (checkpoint: saved)` for every weight-shaping key that differs."""
    diffs = []
    grus = [("encoder", "gru"), ("decoder", "gru")]
    if saved.decoder.type == wanted.decoder.type == "cgru":
        grus.append(("decoder", "gru2"))
    for part, name in grus:
        a, b = getattr(getattr(saved, part), name), getattr(getattr(wanted, part), name)
        for key in _GRU_SHAPE_KEYS:
            if getattr(a, key) != getattr(b, key):
                diffs.append(
                    f"model.{part}.{name}.{key}={getattr(b, key)} (checkpoint: {getattr(a, key)})"
                )
    for key in ("type", "attention", "input_feeding", "tie_embeddings"):
        if getattr(saved.decoder, key) != getattr(wanted.decoder, key):
            diffs.append(
                f"model.decoder.{key}={getattr(wanted.decoder, key)} "
                f"(checkpoint: {getattr(saved.decoder, key)})"
            )
    if saved.encoder.tie_embeddings != wanted.encoder.tie_embeddings:
        diffs.append(f"model.encoder.tie_embeddings={wanted.encoder.tie_embeddings} "
                     f"(checkpoint: {saved.encoder.tie_embeddings})")
    if saved.bridge != wanted.bridge:
        diffs.append(f"model.bridge={wanted.bridge} (checkpoint: {saved.bridge})")
    return diffs


def typed(section_cls: type, values: dict, prefix: str) -> Any:
    """values checked against section_cls; a mismatch names the key under prefix."""
    from seq2seq.composition import describe_config_error

    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(section_cls), values))
    except Exception as exc:  # omegaconf raises several types; all mean a bad saved value
        raise UserError(f"{prefix}: {describe_config_error(exc)}") from exc


def model_for_checkpoint(saved: dict, changes: dict[str, Any], where: str) -> ModelConfig:
    """The checkpoint's model config (saved) with changes ({"model.KEY": value}, as the command
    line or an API caller gives them), which may only change layout and dropout: a
    weight-shaping change is a one-line error. where names the checkpoint in messages."""
    saved_model = typed(ModelConfig, saved, f"{where}: model config")
    wanted = typed(ModelConfig, apply({"model": saved}, changes)["model"], "model")
    diffs = architecture_differences(saved_model, wanted)
    if diffs:
        raise UserError(
            f"{diffs[0]}: must match the checkpoint, whose weights have that shape "
            "(only batch_first and dropout may change)"
        )
    return wanted
