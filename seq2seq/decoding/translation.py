"""Translating many sentences: length-sorted batches, original order restored; text in and
translations out with a loaded model (`Translator`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from tqdm import tqdm

from seq2seq.config import DecodeConfig
from seq2seq.data.batching import pad
from seq2seq.data.tokenizer import SpecialIds
from seq2seq.decoding.loading import Loaded
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
        disable=not progress,
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


@dataclass
class Translation:
    text: str
    score: float
    src_pieces: list[str]  # the source subwords (plus </s>) that attention spans
    tgt_pieces: list[str]  # the output subwords (plus </s>)
    attention: torch.Tensor | None  # (len(tgt_pieces), len(src_pieces))


class Translator:
    """Text in, translations out: a loaded model with its tokenizer and decode settings."""

    def __init__(
        self, loaded: Loaded, decode: DecodeConfig, max_src_len: int | None = None
    ) -> None:
        self.loaded, self.tokenizer, self.decode = loaded, loaded.tokenizer, decode
        # longest source in subwords (default: the run's data.max_len)
        self.max_src_len = max_src_len or loaded.config["data"]["max_len"]

    def encode(self, lines: list[str]) -> tuple[list[list[int]], list[int]]:
        """Subword ids cut to max_src_len, and the original length of each line that was cut."""
        ids = self.tokenizer.encode_src(lines)
        cut = [len(s) if len(s) > self.max_src_len else 0 for s in ids]
        return [s[: self.max_src_len] for s in ids], cut

    def translate_ids(
        self, src_ids: list[list[int]], *, attention: bool = False, progress: bool = False
    ) -> list[list[Translation]]:
        """The decode.n_best translations of each source, best first."""
        special = self.tokenizer.special
        with self.loaded.autocast():
            hyps = translate_ids(
                self.loaded.model,
                src_ids,
                settings=settings_from(self.decode, special, attention),
                strategy=self.decode.strategy,
                batch_size=self.decode.batch_size,
                pad_id=special.pad,
                device=self.loaded.device,
                progress=progress,
            )
        return [self._translations(ids, nbest) for ids, nbest in zip(src_ids, hyps, strict=True)]

    def _translations(self, src_ids: list[int], nbest: list[Hypothesis]) -> list[Translation]:
        src_pieces = self.tokenizer.src_pieces(src_ids) + ["</s>"]
        return [
            Translation(
                text=self.tokenizer.decode_tgt([h.tokens])[0],
                score=h.score,
                src_pieces=src_pieces,
                tgt_pieces=self.tokenizer.tgt_pieces(h.tokens) + ["</s>"],
                attention=h.attention,
            )
            for h in nbest
        ]
