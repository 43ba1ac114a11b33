"""Text in, translations out: the one translation core behind the terminal prompt, pipe mode,
the Python API and the HTTP service, so that the same settings give the same output in each.

    from seq2seq import Translator
    t = Translator.load("runs/de-en", beam_size=5)
    t.translate(["Ein Hund läuft."])                     # -> ["A dog is running."]
    t.translate(["Ein Hund läuft."], n_best=3, attention=True)   # -> [[Translation, ...]]
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from seq2seq.config import DecodeConfig
from seq2seq.config_rules import check_decode_config
from seq2seq.decoding.loading import Loaded, open_model
from seq2seq.decoding.search import Hypothesis
from seq2seq.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class Translation:
    """One translation of one sentence."""

    text: str
    score: float  # length-normalised log-probability (decode.length_penalty)
    src_pieces: list[str]  # the source subwords (plus </s>) that attention spans
    tgt_pieces: list[str]  # the output subwords (plus </s>)
    attention: torch.Tensor | None  # (len(tgt_pieces), len(src_pieces)) when asked for

    @property
    def tokens(self) -> list[str]:
        """The output subwords, </s> included (as tgt_pieces)."""
        return self.tgt_pieces


EMPTY = Translation(text="", score=0.0, src_pieces=[], tgt_pieces=[], attention=None)


def commands_batch_size(strategy: str) -> int:
    """decode.batch_size as the commands take it for strategy (configs/decode/STRATEGY.yaml)."""
    from omegaconf import OmegaConf

    from seq2seq.composition import config_dir

    return int(OmegaConf.load(config_dir() / "decode" / f"{strategy}.yaml").batch_size)


def decode_settings(base: DecodeConfig, **changes) -> DecodeConfig:
    """base with changes (None values ignored); beam_size 1 searches greedily. A value out of
    range is a one-line UserError naming decode.KEY."""
    changes = {k: v for k, v in changes.items() if v is not None}
    beam = changes.get("beam_size")
    if beam is not None:
        changes["strategy"] = "greedy" if beam == 1 else "beam"
    decode = dataclasses.replace(base, **changes)
    check_decode_config(decode)
    return decode


class Translator:
    """A loaded model with its tokenizer and decode settings."""

    def __init__(
        self, loaded: Loaded, decode: DecodeConfig, max_src_len: int | None = None
    ) -> None:
        if max_src_len is not None and (type(max_src_len) is not int or max_src_len < 1):
            raise UserError(f"max_src_len={max_src_len!r}: must be a whole number >= 1")
        self.loaded, self.tokenizer, self.decode = loaded, loaded.tokenizer, decode
        # longest source in subwords (default: the run's data.max_len)
        self.max_src_len = max_src_len or loaded.config["data"]["max_len"]

    @classmethod
    def load(
        cls, source: str | Path, *, which: str = "best", ensemble: Sequence[str | Path] = (),
        device: str = "auto", precision: str = DecodeConfig.precision,
        quantize: str = DecodeConfig.quantize, beam_size: int = DecodeConfig.beam_size,
        length_penalty: float = DecodeConfig.length_penalty, n_best: int = DecodeConfig.n_best,
        max_len_a: float = DecodeConfig.max_len_a, max_len_b: int = DecodeConfig.max_len_b,
        min_len: int = DecodeConfig.min_len, batch_size: int | None = None,
        max_src_len: int | None = None,
    ) -> Translator:
        """A translator for a run directory (its checkpoints/WHICH.pt) or checkpoint file, with
        the models of `ensemble`, on device (auto: CUDA if there is one), in fp32, bf16, fp16
        or auto (the fastest here, measured), optionally int8-quantised (CPU); beam_size 1 is
        greedy search. batch_size (sentences) defaults to the commands' for that search
        (configs/decode/beam.yaml or greedy.yaml)."""
        decode = decode_settings(
            DecodeConfig(quantize=quantize, precision=precision), beam_size=beam_size,
            length_penalty=length_penalty,
            n_best=n_best, max_len_a=max_len_a, max_len_b=max_len_b, min_len=min_len,
            batch_size=batch_size)
        if batch_size is None:  # decode_settings chose the search from beam_size
            decode = dataclasses.replace(decode, batch_size=commands_batch_size(decode.strategy))
        loaded = open_model(source, which=which, ensemble=ensemble, device=device,
                            precision=precision, quantize=quantize, decode=decode)
        return cls(loaded, decode, max_src_len)

    def encode(self, lines: list[str]) -> tuple[list[list[int]], list[int]]:
        """Subword ids cut to max_src_len, and the original length of each line that was cut."""
        ids = self.tokenizer.encode_src(lines)
        cut = [len(s) if len(s) > self.max_src_len else 0 for s in ids]
        return [s[: self.max_src_len] for s in ids], cut

    def translate_ids(
        self, src_ids: list[list[int]], *, attention: bool = False, progress: bool = False,
        decode: DecodeConfig | None = None,
    ) -> list[list[Translation]]:
        """The n_best translations of each source (of decode, default self.decode), best first."""
        hyps = self.loaded.search(src_ids, decode or self.decode, attention=attention,
                                  progress=progress)
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

    def translate_lines(
        self, lines: list[str], *, decode: DecodeConfig | None = None, attention: bool = False,
        where: Callable[[int], str] | None = None,
    ) -> list[list[Translation]]:
        """The n-best translations of each line; a blank line gives one empty translation, a
        line longer than max_src_len subwords is truncated with a warning naming where(i)."""
        todo = [i for i, line in enumerate(lines) if line.strip()]
        ids, cut = self.encode([lines[i] for i in todo])
        for i, n in zip(todo, cut, strict=True):
            if n:
                log.warning("%s: %d subwords truncated to %d (max_src_len)",
                            where(i) if where else f"sentence {i + 1}", n, self.max_src_len)
        out = [[EMPTY] for _ in lines]
        for i, nbest in zip(todo, self.translate_ids(ids, attention=attention, decode=decode),
                            strict=True):
            out[i] = nbest
        return out

    def translate(
        self, texts: str | list[str], *, beam_size: int | None = None, n_best: int | None = None,
        length_penalty: float | None = None, attention: bool = False,
    ) -> list[str] | list[list[Translation]]:
        """Translations of texts (one string or a list). With n_best 1 and no attention: the
        best translation's text per sentence; with n_best > 1 or attention=True: per sentence
        its n-best Translation objects (text, score, subwords, attention weights)."""
        one = isinstance(texts, str) or not isinstance(texts, Iterable)
        lines = [texts] if one else list(texts)
        for item in lines:
            if not isinstance(item, str):
                raise UserError(f"translate takes a string or a list of strings; got {item!r}")
        decode = decode_settings(self.decode, beam_size=beam_size, n_best=n_best,
                                 length_penalty=length_penalty)
        results = self.translate_lines(lines, decode=decode, attention=attention)
        if decode.n_best == 1 and not attention:
            return [nbest[0].text for nbest in results]
        return results
