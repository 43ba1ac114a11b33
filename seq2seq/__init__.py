"""GRU encoder-decoder neural machine translation: train, evaluate BLEU, translate, serve.

From Python: `from seq2seq import Translator`, then `Translator.load(run_dir).translate([...])`
(seq2seq.decoding.translator). Importing the package alone loads no torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Translator", "Translation", "open_model"]


def __getattr__(name: str) -> Any:
    if name in ("Translator", "Translation"):
        from seq2seq.decoding import translator

        return getattr(translator, name)
    if name == "open_model":
        from seq2seq.decoding.loading import open_model

        return open_model
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
