"""The Python API: Translator.load(...).translate(...) gives what the commands give."""

from __future__ import annotations

import gzip
import io
import re
import sys

import pytest
import torch
from conftest import MIRROR, run_module

from seq2seq import Translator
from seq2seq.composition import compose
from seq2seq.errors import UserError

VAL = gzip.decompress((MIRROR / "val.de.gz").read_bytes()).decode().splitlines()[:30]


@pytest.fixture(scope="module")
def translator(trained_run):
    return Translator.load(trained_run, beam_size=4, device="cpu")


def test_strings_equal_the_translate_commands_output(trained_run, translator):
    lines = [*VAL[:12], "", *VAL[12:]]
    proc = run_module("seq2seq.translate", f"run_dir={trained_run}", "decode.beam_size=4",
                      input="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    got = translator.translate(lines)
    assert got == proc.stdout.split("\n")[:-1]
    assert got[12] == "" and all(got[i] for i in range(12))
    assert translator.translate(VAL[0]) == [got[0]]


def test_n_best_and_attention_give_objects(translator):
    results = translator.translate(VAL[:5], n_best=3, attention=True)
    assert len(results) == 5
    for nbest in results:
        assert len(nbest) == 3
        assert [t.score for t in nbest] == sorted((t.score for t in nbest), reverse=True)
        for t in nbest:
            assert t.tokens == t.tgt_pieces and t.tokens[-1] == "</s>"
            assert t.attention.shape == (len(t.tokens), len(t.src_pieces))
            torch.testing.assert_close(t.attention.sum(-1), torch.ones(len(t.tokens)))
    assert translator.translate(VAL[:2], beam_size=1) != translator.translate(
        VAL[:2], beam_size=1, attention=True)  # strings against objects
    assert translator.translate(VAL[:2], beam_size=1) == [
        n[0].text for n in translator.translate(VAL[:2], beam_size=1, attention=True)]


def test_ensemble_precision_and_int8(trained_run, translator):
    plain = translator.translate(VAL[:10])
    assert Translator.load(trained_run, beam_size=4, ensemble=[trained_run],
                           device="cpu").translate(VAL[:10]) == plain
    for options in ({"quantize": "int8"}, {"precision": "bf16"}):
        other = Translator.load(trained_run, beam_size=4, device="cpu", **options)
        out = other.translate(VAL[:10])
        assert len(out) == 10 and all(out)


@pytest.mark.parametrize("beam_size, strategy", [(1, "greedy"), (4, "beam")])
def test_batch_size_defaults_to_the_commands_for_the_search(trained_run, beam_size, strategy):
    command = compose("evaluate", [f"run_dir={trained_run}", f"decode={strategy}"]).decode
    loaded = Translator.load(trained_run, beam_size=beam_size, device="cpu")
    assert (loaded.decode.strategy, loaded.decode.batch_size) == (strategy, command.batch_size)
    assert Translator.load(trained_run, beam_size=1, batch_size=7,
                           device="cpu").decode.batch_size == 7


@pytest.mark.parametrize("options, message", [
    ({"beam_size": 0}, "decode.beam_size=0: must be >= 1"),
    ({"beam_size": 2, "n_best": 3}, "decode.n_best=3: must not exceed decode.beam_size=2"),
    ({"precision": "fp8"}, "precision='fp8': accepted values are fp32, bf16"),
    ({"which": "nope"}, "run directory without checkpoints/nope.pt"),
    ({"batch_size": 0.5}, "decode.batch_size=0.5: must be a whole number"),
    ({"beam_size": True}, "decode.beam_size=True: must be a whole number"),
    ({"max_len_a": float("inf")}, "decode.max_len_a=inf: must be a finite number"),
    ({"device": "tpu"}, "device='tpu': accepted values are auto, cpu, cuda (or cuda:N)"),
    ({"max_src_len": 0.5}, "max_src_len=0.5: must be a whole number >= 1"),
])
def test_bad_settings_are_one_line_errors(trained_run, options, message):
    with pytest.raises(UserError, match=re.escape(message)):
        Translator.load(trained_run, **{"device": "cpu", **options})


@pytest.mark.parametrize("texts, settings, message", [
    (VAL[:1], {"length_penalty": -1}, "decode.length_penalty=-1: must be >= 0.0"),
    (VAL[:1], {"length_penalty": "1"}, "decode.length_penalty='1': must be a number"),
    (VAL[:1], {"beam_size": 2.5}, "decode.beam_size=2.5: must be a whole number"),
    (None, {}, "translate takes a string or a list of strings; got None"),
    ([VAL[0], 7], {}, "translate takes a string or a list of strings; got 7"),
])
def test_bad_per_call_settings_are_one_line_errors(translator, texts, settings, message):
    with pytest.raises(UserError, match=f"^{re.escape(message)}$"):
        translator.translate(texts, **settings)
    assert translator.translate(tuple(VAL[:2]), length_penalty=1) == translator.translate(VAL[:2])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, drawn", [(_Terminal, True), (io.StringIO, False)])
def test_the_progress_bar_is_drawn_on_a_terminal_only(translator, monkeypatch, stream, drawn):
    """progress=true draws tqdm's bar on a terminal and keeps it out of logs and pipes."""
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    ids, _ = translator.encode(VAL[:5])
    translator.translate_ids(ids, progress=True)
    assert ("translating" in err.getvalue()) is drawn
