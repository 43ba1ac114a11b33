"""`seq2seq-evaluate`: sacrebleu scores, written hypotheses, overrides, bad input."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import MIRROR, run_module

from seq2seq import checkpoint as ckpt
from seq2seq.apps import EvaluateApp
from seq2seq.config import DataConfig, DecodeConfig
from seq2seq.errors import UserError
from seq2seq.evaluation.splits import decode_tag, ensemble_name, run_data_config


def _evaluate(*args: str):
    return run_module("seq2seq.evaluate", "progress=false", *args)


@pytest.fixture(scope="module")
def greedy_eval(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    proc = _evaluate(f"run_dir={trained_run}", "decode=greedy", f"output_dir={out}")
    assert proc.returncode == 0, proc.stderr
    return proc, out


def test_scores_printed_match_sacrebleu_command_line(greedy_eval, tmp_path):
    proc, out = greedy_eval
    printed = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^(\w+): .*\n  BLEU = ([\d.]+) .*case:mixed", proc.stdout, re.M)
    }
    assert set(printed) == {"val", "test_2016_flickr"}
    for split, lang_file in (("val", "val.en.gz"), ("test_2016_flickr", "test_2016_flickr.en.gz")):
        ref = tmp_path / f"{split}.ref"
        ref.write_bytes(gzip.decompress((MIRROR / lang_file).read_bytes()))
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "sacrebleu",
                str(ref),
                "-i",
                str(out / f"{split}.hyp"),
                "-m",
                "bleu",
                "-b",
                "-w",
                "2",
            ],
            capture_output=True,
            text=True,
        )
        assert cli.returncode == 0, cli.stderr
        assert float(cli.stdout.strip()) == pytest.approx(printed[split], abs=0.005)
    assert "chrF2 = " in proc.stdout and "TER = " in proc.stdout
    assert "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in proc.stdout
    assert re.search(
        r"test_2016_flickr: 1000 sentences in [\d.]+ s \([\d.]+ sentences/s", proc.stdout
    )
    results = json.loads((out / "results.json").read_text())
    assert results["splits"]["val"]["scores"]["BLEU"]["score"] == pytest.approx(
        printed["val"], abs=0.005
    )
    assert len((out / "val.hyp").read_text().splitlines()) == 1014


def test_layout_overrides_give_identical_hypotheses(trained_run, greedy_eval, tmp_path):
    _, out = greedy_eval
    proc = _evaluate(
        f"run_dir={trained_run}",
        "decode=greedy",
        f"output_dir={tmp_path}",
        "model.encoder.gru.batch_first=false",
        "model.decoder.gru.batch_first=false",
        "splits=[val]",
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "val.hyp").read_text() == (out / "val.hyp").read_text()


@pytest.mark.parametrize(
    "override",
    [
        "model.encoder.gru.hidden_size=48",
        "model.decoder.gru.num_layers=2",
        "model.encoder.gru.bidirectional=false",
        "model.decoder.gru.bias=false",
        "model.encoder.gru.input_size=16",
    ],
)
def test_weight_shaping_overrides_are_refused(trained_run, override):
    proc = _evaluate(f"run_dir={trained_run}", override)
    assert proc.returncode == 2
    key = override.split("=")[0]
    assert proc.stderr.startswith(f"error: {key}=") and "must match the checkpoint" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_inputs(trained_run, tmp_path):
    good = trained_run / "checkpoints" / "best.pt"
    (tmp_path / "empty_run").mkdir()
    data = good.read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 3])
    (tmp_path / "garbage.pt").write_bytes(b"this is not a checkpoint")
    payload = ckpt.load(good).to_dict()
    payload["tokenizer"] = {}
    torch.save(payload, tmp_path / "no_tokenizer.pt")
    (tmp_path / "t.de").write_text("eins\nzwei\n")
    (tmp_path / "t.en").write_text("one\n")
    cases = [
        ([f"run_dir={tmp_path / 'empty_run'}"], "run directory without checkpoints/best.pt"),
        ([f"checkpoint={tmp_path / 'truncated.pt'}"], "truncated.pt: not a readable checkpoint"),
        ([f"checkpoint={tmp_path / 'garbage.pt'}"], "garbage.pt: not a readable checkpoint"),
        (
            [f"checkpoint={tmp_path / 'no_tokenizer.pt'}"],
            "the checkpoint holds no tokenizer and the run's is missing",
        ),
        (
            [f"checkpoint={good}", "data.corpus=files", f"splits=[{tmp_path / 't'}]"],
            "t.de has 2 lines but",
        ),
        ([], "no model given: add run_dir=PATH"),
    ]
    for args, message in cases:
        proc = _evaluate(*args)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], proc.stderr


def test_checkpoint_path_and_tokenizer_fallback(trained_run, tmp_path):
    """A checkpoint without its tokenizer still works when the run holds tokenizer/."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copytree(trained_run / "tokenizer", run / "tokenizer")
    payload = ckpt.load(trained_run / "checkpoints" / "best.pt").to_dict()
    payload["tokenizer"] = {}
    torch.save(payload, run / "checkpoints" / "best.pt")
    proc = _evaluate(
        f"checkpoint={run / 'checkpoints' / 'best.pt'}",
        "decode=greedy",
        "splits=[test_2016_flickr]",
    )
    assert proc.returncode == 0, proc.stderr
    assert (run / "eval" / "best-greedy" / "test_2016_flickr.hyp").is_file()


def test_results_record_the_parameter_count(trained_model, greedy_eval):
    model = trained_model[0]
    _, out = greedy_eval
    results = json.loads((out / "results.json").read_text())
    assert results["parameters"] == sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("decode,tag", [
    ({"strategy": "greedy"}, "greedy"),
    ({"strategy": "beam", "beam_size": 5}, "beam5"),
    ({"strategy": "beam", "beam_size": 4, "length_penalty": 1.5, "quantize": "int8"},
     "beam4-lp1.5-int8"),
    ({"strategy": "greedy", "min_len": 500}, "greedy-min500"),
    ({"strategy": "beam", "beam_size": 5, "max_len_a": 1.0, "max_len_b": 5}, "beam5-len1x+5"),
])
def test_output_folder_names_the_decoding(decode, tag):
    """Evaluations that decode differently never overwrite each other's results."""
    assert decode_tag(EvaluateApp(decode=DecodeConfig(**decode))) == tag


def test_scoring_one_split_keeps_the_others(trained_run, greedy_eval, tmp_path):
    _, out = greedy_eval
    shutil.copytree(out, tmp_path / "eval")
    before = json.loads((tmp_path / "eval" / "results.json").read_text())["splits"]
    proc = _evaluate(f"run_dir={trained_run}", "decode=greedy", f"output_dir={tmp_path / 'eval'}",
                     "splits=[val]")
    assert proc.returncode == 0, proc.stderr
    after = json.loads((tmp_path / "eval" / "results.json").read_text())["splits"]
    assert list(after) == ["val", "test_2016_flickr"]
    assert after["test_2016_flickr"] == before["test_2016_flickr"]
    assert after["val"]["scores"] == before["val"]["scores"]  # same model, same decoding
    # decoded differently: the earlier scores no longer describe this folder, so they go
    proc = _evaluate(f"run_dir={trained_run}", "decode=greedy", "decode.max_len_b=2",
                     f"output_dir={tmp_path / 'eval'}", "splits=[val]")
    assert proc.returncode == 0, proc.stderr
    after = json.loads((tmp_path / "eval" / "results.json").read_text())["splits"]
    assert list(after) == ["val"]


def test_an_ensemble_of_a_run_with_itself_translates_as_the_run(trained_run, greedy_eval):
    _, single = greedy_eval
    best = trained_run / "checkpoints" / "best.pt"
    proc = _evaluate(f"run_dir={trained_run}", f"ensemble=[{best}]", "decode=greedy",
                     "splits=[val]")
    assert proc.returncode == 0, proc.stderr
    out = trained_run / "eval" / f"{ensemble_name([best, best])}-greedy"
    assert (out / "val.hyp").read_text() == (single / "val.hyp").read_text()
    saved = (out / "results.json").read_text()
    results = json.loads(saved)
    alone = json.loads((single / "results.json").read_text())
    assert [m["checkpoint"] for m in results["ensemble"]] == [str(best)] * 2
    assert results["parameters"] == 2 * alone["parameters"]
    assert alone["ensemble"] is None
    # another ensemble of as many models, with the same first one, keeps its own folder
    last = trained_run / "checkpoints" / "last.pt"
    proc = _evaluate(f"run_dir={trained_run}", f"ensemble=[{last}]", "decode=greedy",
                     "splits=[val]")
    assert proc.returncode == 0, proc.stderr
    other = trained_run / "eval" / f"{ensemble_name([best, last])}-greedy"
    assert other != out and (out / "results.json").read_text() == saved
    assert [m["checkpoint"] for m in json.loads((other / "results.json").read_text())[
        "ensemble"]] == [str(best), str(last)]


def test_an_ensemble_is_named_by_its_members_wherever_they_are_typed_from(tmp_path,
                                                                         monkeypatch):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    name = ensemble_name([a, b])
    assert re.fullmatch(r"ensemble2\.[0-9a-f]{6}", name)
    monkeypatch.chdir(tmp_path)
    assert ensemble_name([Path("a.pt"), Path("b.pt")]) == name
    assert ensemble_name([b, a]) != name and ensemble_name([a, b, a]).startswith("ensemble3.")


def test_ensemble_members_are_checked(trained_run, small_tokenizer, tmp_path):
    payload = ckpt.load(trained_run / "checkpoints" / "best.pt").to_dict()
    payload["tokenizer"] = {"src": small_tokenizer.src_proto}
    torch.save(payload, tmp_path / "other_tokenizer.pt")
    cases = [
        (tmp_path / "nowhere", "error: ensemble: ", "no such checkpoint file or run directory"),
        (tmp_path / "other_tokenizer.pt", "error: ensemble: ", "trained with another tokenizer"),
    ]
    for member, start, message in cases:
        proc = _evaluate(f"run_dir={trained_run}", f"ensemble=[{member}]", "splits=[val]")
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(start) and message in lines[0], lines


def test_an_empty_checkpoint_is_one_line_for_every_command(trained_run, tmp_path):
    zero = tmp_path / "zero.pt"
    zero.write_bytes(b"")
    expected = f"error: {zero}: not a readable checkpoint (empty file; truncated or corrupted?)"
    for module, args in (("seq2seq.evaluate", ["progress=false"]), ("seq2seq.translate", [])):
        proc = run_module(module, f"checkpoint={zero}", *args, input="Ein Hund.\n")
        assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [expected], \
            proc.stderr
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns(".lock"))
    (run / "checkpoints" / "last.pt").write_bytes(b"")
    proc = run_module("seq2seq.train", f"hydra.run.dir={run}", f"train.resume={run}",
                      f"data.cache_dir={tmp_path / 'cache'}")
    last = run / "checkpoints" / "last.pt"
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {last}: not a readable checkpoint (empty file; truncated or corrupted?)"]
    assert (run / "checkpoints" / "best.pt").stat().st_size > 0  # nothing saved is lost


def test_a_run_directory_it_cannot_write_is_one_line(trained_run, tmp_path, greedy_eval):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns(".lock", "eval"))
    (run / "eval").write_text("a file where the eval folder would go")
    proc = _evaluate(f"run_dir={run}", "decode=greedy", "splits=[val]")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {run / 'eval' / 'best-greedy'}: cannot write the evaluation there (Not a "
        "directory); add output_dir=PATH to write it elsewhere"]
    assert (run / "eval").read_text() == "a file where the eval folder would go"
    ok = _evaluate(f"run_dir={run}", "decode=greedy", "splits=[val]",
                   f"output_dir={tmp_path / 'elsewhere'}")
    assert ok.returncode == 0 and (tmp_path / "elsewhere" / "val.hyp").is_file()


def test_data_of_another_language_pair_is_refused():
    """A de-en model evaluated with data.src_lang=en data.tgt_lang=de scored its output against
    German and replaced the de-en scores in results.json."""
    saved = {"data": dataclasses.asdict(DataConfig())}  # Multi30k de -> en
    for langs, message in ((["en", "de"], "the model translates de into en"),
                           (["fr", "en"], "the model translates de into en"), (["de", "en"], None)):
        overrides = [f"data.src_lang={langs[0]}", f"data.tgt_lang={langs[1]}"]
        cfg = EvaluateApp(run_dir="x", data=DataConfig(src_lang=langs[0], tgt_lang=langs[1]))
        if message is None:
            assert run_data_config(saved, cfg, overrides).src_lang == "de"
            continue
        with pytest.raises(UserError, match=f"^{overrides[0]} {overrides[1]}: {message}$"):
            run_data_config(saved, cfg, overrides)
    # files may name their sides freely: a model trained on corpus.src/.tgt scores Multi30k de-en
    files = {"data": dataclasses.asdict(DataConfig(corpus="files", src_lang="src",
                                                   tgt_lang="tgt"))}
    cfg = EvaluateApp(run_dir="x", data=DataConfig(corpus="multi30k"))
    overrides = ["data.corpus=multi30k", "data.src_lang=de", "data.tgt_lang=en"]
    assert run_data_config(files, cfg, overrides).src_lang == "de"


def test_a_stopped_evaluation_leaves_no_empty_folder_it_made(trained_run, tmp_path, monkeypatch):
    """Ctrl-C while translating left <run>/eval/<tag>/ behind, empty; folders that were there
    before, or that hold a split's hypotheses, stay."""
    from seq2seq.composition import compose
    from seq2seq.evaluation import splits

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns(".lock", "eval"))
    scored, stop_after = [], [0]

    def score_then_stop(cfg, loaded, data, split, out_dir):
        if len(scored) == stop_after[0]:
            raise KeyboardInterrupt
        scored.append(split)
        (out_dir / f"{Path(split).name}.hyp").write_text("a hypothesis\n")
        return {}

    monkeypatch.setattr(splits, "score_split", score_then_stop)
    overrides = [f"run_dir={run}", "decode=greedy", "progress=false"]
    folder = run / "eval" / "best-greedy"
    for stop, listed in [(0, None), (1, ["val.hyp"])]:
        scored.clear()
        stop_after[0] = stop
        with pytest.raises(KeyboardInterrupt):
            splits.evaluate(compose("evaluate", overrides), overrides)
        assert (sorted(p.name for p in folder.iterdir()) if folder.exists() else None) == listed
        assert (run / "eval").exists() == bool(listed)
    out = tmp_path / "there before"
    out.mkdir()
    scored.clear()
    stop_after[0] = 0
    with pytest.raises(KeyboardInterrupt):
        splits.evaluate(compose("evaluate", [*overrides, f"output_dir={out}"]), overrides)
    assert out.is_dir() and not any(out.iterdir())
