"""Device and precision choice: auto precision follows the CPU's bf16 instructions."""

from __future__ import annotations

import logging

import pytest
import torch

from seq2seq import devices
from seq2seq.devices import pick_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize(("has_bf16", "device", "expected"), [
    (True, CPU, "bf16"),
    (False, CPU, "fp32"),
    (True, CUDA, "fp32"),  # bf16 autocast measured slower than fp32 on a GPU for these models
])
def test_auto_precision_takes_bf16_only_on_a_cpu_that_has_it(monkeypatch, has_bf16, device,
                                                             expected):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: has_bf16)
    assert pick_precision("auto", device, "train.precision") == expected


@pytest.mark.parametrize("name", ["fp32", "bf16"])
def test_an_explicit_precision_is_kept(monkeypatch, name):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: True)
    assert pick_precision(name, CPU, "train.precision") == name
    assert pick_precision(name, CUDA, "train.precision") == name


def test_bf16_on_a_cpu_without_bf16_instructions_warns_once_naming_the_key(monkeypatch, caplog):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="seq2seq.devices"):
        assert pick_precision("bf16", CPU, "train.precision") == "bf16"
        pick_precision("fp32", CPU, "train.precision")
    (record,) = caplog.records
    assert record.getMessage().startswith("train.precision=bf16: this CPU has no bf16 matrix")

