"""Translating many sentences' subword ids: length-sorted batches, original order restored."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from tqdm import tqdm

from seq2seq.config import DecodeConfig
from seq2seq.data.batching import pad
from seq2seq.data.tokenizer import SpecialIds
from seq2seq.decoding.search import Hypothesis, SearchSettings, search
from seq2seq.model.ensemble import Decodable


def settings_from(
    decode: DecodeConfig, special: SpecialIds, attention: bool = False
) -> SearchSettings:
    return SearchSettings(
        bos=special.bos,
        eos=special.eos,
        beam_size=decode.beam_size if decode.strategy == "beam" else 1,
        length_penalty=decode.length_penalty,
        max_len_a=decode.max_len_a,
        max_len_b=decode.max_len_b,
        min_len=decode.min_len,
        n_best=decode.n_best,
        attention=attention,
    )


def length_sorted_batches(lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Indices in batches of batch_size sentences of similar length, longest first."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


@torch.inference_mode()
def translate_ids(
    model: Decodable,
    src_ids: list[list[int]],
    *,
    settings: SearchSettings,
    strategy: str,
    batch_size: int,
    pad_id: int,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> list[list[Hypothesis]]:
    """Hypotheses for each source (subword ids without EOS), in the order given."""
    was_training = model.training
    model.eval()
    results: list[list[Hypothesis]] = [[] for _ in src_ids]
    bar = tqdm(
        total=len(src_ids),
        disable=None if progress else True,  # None: only on a terminal, not into logs
        unit="sent",
        desc="translating",
        leave=False,
        dynamic_ncols=True,
    )
    for chunk in length_sorted_batches([len(s) for s in src_ids], batch_size):
        seqs = [src_ids[i] + [settings.eos] for i in chunk]
        src = pad(seqs, pad_id).to(device)
        lengths = torch.tensor([len(s) for s in seqs])
        for i, hyps in zip(chunk, search(model, src, lengths, settings, strategy), strict=True):
            results[i] = hyps
        bar.update(len(chunk))
    bar.close()
    model.train(was_training)
    return results
