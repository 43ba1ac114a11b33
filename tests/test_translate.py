"""`seq2seq-translate`: piped batch mode and the interactive prompt on a pseudo-terminal."""

from __future__ import annotations

import gzip
import os
import sys
import time

import numpy as np
import pytest
from conftest import MIRROR, REPO, run_module
from ptys import Terminal


def _pipe(run, data: bytes, *args: str):
    return run_module("seq2seq.translate", f"run_dir={run}", *args, input=data, text=False)


def test_piped_lines_stay_aligned(trained_run):
    val = gzip.decompress((MIRROR / "val.de.gz").read_bytes()).split(b"\n")[:196]
    lines = (val[:50] + [b""] + val[50:120] + [b"", b"   ", ("lang " * 1000).encode()]
             + val[120:194] + [b"kaputt \xff\xfe ende", b""])
    assert len(lines) == 200 and len(lines[123]) == 5000
    proc = _pipe(trained_run, b"\n".join(lines) + b"\n", "decode=greedy")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode("utf-8").split("\n")
    assert out[-1] == "" and len(out) == 201
    out = out[:200]
    for src, hyp in zip(lines, out, strict=True):
        assert (hyp == "") == (src.strip() == b"")
    err = proc.stderr.decode()
    assert "<stdin>:124: 3000 subwords truncated to 100 (max_src_len)" in err
    assert "<stdin>:199: bytes that are not UTF-8" in err
    assert "translated 200 lines" in err


def test_piped_output_equals_evaluate_hypotheses(trained_run, tmp_path):
    evaluated = run_module("seq2seq.evaluate", f"run_dir={trained_run}", "decode=greedy",
                           "splits=[val]", f"output_dir={tmp_path}", "progress=false")
    assert evaluated.returncode == 0, evaluated.stderr
    val = gzip.decompress((MIRROR / "val.de.gz").read_bytes())
    (tmp_path / "in.de").write_bytes(val)
    proc = run_module("seq2seq.translate", f"run_dir={trained_run}", "decode=greedy",
                      f"input={tmp_path / 'in.de'}", f"output={tmp_path / 'out.en'}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert (tmp_path / "out.en").read_text() == (tmp_path / "val.hyp").read_text()


def test_missing_input_file_is_one_line_error(trained_run, tmp_path):
    proc = run_module("seq2seq.translate", f"run_dir={trained_run}", f"input={tmp_path / 'x'}",
                      f"output={tmp_path / 'y'}")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: input={tmp_path / 'x'}: file not found"
    assert not (tmp_path / "y").exists()
    proc = run_module("seq2seq.translate", f"run_dir={trained_run}", f"input={tmp_path}")
    assert (proc.returncode, proc.stderr) == (2, f"error: input={tmp_path}: a folder, not a file\n")


@pytest.mark.slow
def test_interactive_session_on_a_terminal(trained_run, tmp_path):
    env = {**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR), "TERM": "dumb"}
    term = Terminal([sys.executable, "-m", "seq2seq.translate", f"run_dir={trained_run}",
                     "decode=greedy"], env, str(REPO))
    term.read_until("> ")
    term.send("Ein Mann fährt Fahrrad.\n")
    first = term.read_until("\n> ")
    answer = [line for line in first.splitlines() if line.strip() and "Fahrrad" not in line]
    assert answer and answer[0].strip() != ""

    term.send("\n")  # an empty line does nothing but prompt again
    assert term.read_until("> ").strip() == ">"
    term.send(":beam 3\n")
    assert "beam size 3" in term.read_until("\n> ")
    term.send(":nbest 2\n")
    assert "showing 2 best" in term.read_until("\n> ")
    term.send("Zwei Hunde spielen im Schnee.\n")
    nbest = term.read_until("\n> ")
    assert "1. " in nbest and "2. " in nbest

    term.send(":attn\n")
    assert "attention heatmap on" in term.read_until("\n> ")
    term.send("Ein Kind schläft.\n")
    heat = term.read_until("\n> ")
    assert "source: 1:_Ein" in heat and any(c in heat for c in "░▒▓█")

    png = tmp_path / "attn.png"
    term.send(f":save-attn {png}\n")
    assert f"saved {png}" in term.read_until("\n> ")
    # Ctrl-C clears the line and keeps the prompt. CPython's readline runs Python's signal
    # handlers only when a signal interrupts its wait for input (select, no timeout), so a
    # SIGINT that lands while it is still echoing a key waits for the next key or signal: it is
    # pressed a moment after the typing shows, and once more if the prompt is not back, as a
    # person would.
    term.send("halb geschrieben")
    term.read_until("halb geschrieben")
    time.sleep(0.2)
    term.send("\x03")
    try:
        term.read_until("> ", timeout=5)
    except TimeoutError:
        term.send("\x03")
        term.read_until("> ")
    term.send(":scores\n")
    assert "scores on" in term.read_until("\n> ")
    term.send("\x04")  # Ctrl-D
    assert term.wait() == 0

    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB"))
    height, width, _ = image.shape
    assert width >= 200 and height >= 150
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # not blank: a drawn heatmap


def test_an_ensemble_translates_as_evaluate_decodes_it(trained_run, tmp_path):
    """A second member with perturbed weights: translation and evaluation agree, and the pair
    differs from the first model alone."""
    import torch

    from seq2seq import checkpoint as ckpt

    payload = ckpt.load(trained_run / "checkpoints" / "best.pt").to_dict()
    g = torch.Generator().manual_seed(0)
    payload["model"] = {k: v + 0.05 * torch.randn(v.shape, generator=g) if v.is_floating_point()
                        else v for k, v in payload["model"].items()}
    torch.save(payload, tmp_path / "other.pt")
    member = f"ensemble=[{tmp_path / 'other.pt'}]"
    evaluated = run_module("seq2seq.evaluate", f"run_dir={trained_run}", member, "splits=[val]",
                           f"output_dir={tmp_path}", "progress=false")
    assert evaluated.returncode == 0, evaluated.stderr
    val = gzip.decompress((MIRROR / "val.de.gz").read_bytes())
    (tmp_path / "in.de").write_bytes(val)
    proc = run_module("seq2seq.translate", f"run_dir={trained_run}", member,
                      f"input={tmp_path / 'in.de'}", f"output={tmp_path / 'out.en'}")
    assert proc.returncode == 0, proc.stderr
    ensemble = (tmp_path / "out.en").read_text()
    assert ensemble == (tmp_path / "val.hyp").read_text()
    alone = run_module("seq2seq.translate", f"run_dir={trained_run}",
                       f"input={tmp_path / 'in.de'}", f"output={tmp_path / 'alone.en'}")
    assert alone.returncode == 0, alone.stderr
    differ = sum(a != b for a, b in zip(ensemble.split("\n"), (tmp_path / "alone.en")
                                         .read_text().split("\n"), strict=True))
    assert 0 < differ < 1014
