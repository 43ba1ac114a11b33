"""GRU encoder-decoder neural machine translation: train, evaluate BLEU, translate, serve.

From Python: `from seq2seq import Translator`, then `Translator.load(run_dir).translate([...])`
(seq2seq.decoding.translator). Importing the package alone loads no torch.
"""

from __future__ import annotations

import os
from typing import Any

# torch multiplies bf16 matrices on a CPU through oneDNN, which builds a kernel for each new
# shape (about 0.5 ms on a 2-core Xeon with AMX) and keeps the last 1,024 by default. Training
# meets more shapes than that (each batch its own rows and lengths), so with 1,024 it rebuilt
# kernels in every epoch: at Joey NMT's reference size in bf16 a second pass over 100 batches
# ran at 2,574 target tok/s with 1,024 and 3,242 with 8,192. oneDNN reads the variable at its
# first product, so it is set here, before any; a value of the user's own stands.
ONEDNN_KERNELS = 8192
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_KERNELS))

__all__ = ["Translator", "Translation", "open_model"]


def __getattr__(name: str) -> Any:
    if name in ("Translator", "Translation"):
        from seq2seq.decoding import translator

        return getattr(translator, name)
    if name == "open_model":
        from seq2seq.decoding.loading import open_model

        return open_model
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
