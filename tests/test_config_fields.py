"""A field's own rules: ranges and choices from the schema's metadata, kinds from its type."""

from __future__ import annotations

import dataclasses

import pytest

from seq2seq.config import DecodeConfig, GRUConfig, TrainConfig
from seq2seq.config_fields import accepted, check_fields, check_kind, field_type
from seq2seq.errors import UserError


def test_an_open_upper_bound_refuses_the_bound_itself():
    check_fields(dataclasses.replace(GRUConfig(), dropout=0.999), "model.decoder.gru.")
    with pytest.raises(UserError, match=r"^model\.decoder\.gru\.dropout=1\.0: must be in "
                                        r"\[0\.0, 1\.0\)$"):
        check_fields(dataclasses.replace(GRUConfig(), dropout=1.0), "model.decoder.gru.")


def test_nested_sections_are_named_by_their_full_key():
    decode = dataclasses.replace(DecodeConfig(), strategy="sample")
    with pytest.raises(UserError, match=r"^decode\.strategy='sample': accepted values are "):
        check_fields(decode, "decode.")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_numbers_are_finite(value):
    with pytest.raises(UserError, match="train.lr=.*: must be a finite number"):
        check_fields(dataclasses.replace(TrainConfig(), lr=value), "train.")


def test_kinds_take_an_int_for_a_float_but_never_a_bool_for_a_number():
    assert field_type(TrainConfig, "lr") is float
    check_kind(TrainConfig, "lr", 1, "train.")
    with pytest.raises(UserError, match=r"^train\.lr=True: must be a number$"):
        check_kind(TrainConfig, "lr", True, "train.")
    with pytest.raises(UserError, match=r"^decode\.beam_size=2\.5: must be a whole number$"):
        check_kind(DecodeConfig, "beam_size", 2.5, "decode.")
    assert accepted(DecodeConfig, "strategy") == "a string"
    assert field_type(DecodeConfig, "no_such_key") is None
