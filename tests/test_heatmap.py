"""Attention heatmaps in the terminal."""

from __future__ import annotations

import torch

from seq2seq.frontends.heatmap import render_text


def test_text_heatmap_marks_each_rows_peak():
    weights = torch.tensor([[0.7, 0.2, 0.1], [0.05, 0.15, 0.8]])
    text = render_text(weights, ["\u2581Ein", "\u2581Hund", "</s>"], ["\u2581A", "\u2581dog"])
    rows = text.splitlines()
    assert rows[0].split() == ["1", "2", "3"]
    assert rows[1] == "  _A ██ ░░    "
    assert rows[2] == "_dog       ██ "
    assert rows[-1] == "source: 1:_Ein  2:_Hund  3:</s>"
