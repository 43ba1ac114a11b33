"""The schema: every shipped YAML composes and passes; config mistakes give one-line errors."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import hydra
import pytest
from conftest import run_module

from seq2seq import composition
from seq2seq.apps import APP_SCHEMAS
from seq2seq.composition import compose, config_dir, register_schemas, to_config
from seq2seq.errors import UserError

# every console script with a Hydra config joins these lists as it arrives
ENTRY_MODULES = {
    "prepare": "seq2seq.prepare",
    "inspect": "seq2seq.inspect_model",
    "train": "seq2seq.train",
    "evaluate": "seq2seq.evaluate",
    "translate": "seq2seq.translate",
    "serve": "seq2seq.serve",
}
GROUPS = sorted(p.name for p in config_dir().iterdir() if p.is_dir() and p.name != "hydra")


def _compose(app: str, overrides: list[str]):
    register_schemas()
    with hydra.initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra.compose(config_name=app, overrides=overrides)


def _uses_group(app: str, group: str) -> bool:
    return any(
        line.strip().startswith(f"- {group}:")
        for line in (config_dir() / f"{app}.yaml").read_text().splitlines()
    )


def _group_yamls() -> list[tuple[str, str]]:
    return [(g, p.stem) for g in GROUPS for p in sorted((config_dir() / g).glob("*.yaml"))]


def test_every_app_has_a_primary_config():
    for app in APP_SCHEMAS:
        assert (config_dir() / f"{app}.yaml").is_file(), app


@pytest.mark.parametrize("group,option", _group_yamls())
def test_every_group_yaml_composes_and_passes_schema(group, option):
    apps = [a for a in APP_SCHEMAS if _uses_group(a, group)]
    assert apps, f"configs/{group}/{option}.yaml is used by no command"
    for app in apps:
        if (group, option) == ("ablation", "dec_bidirectional_true"):  # the study's failed job
            with pytest.raises(UserError, match="decoder generates left to right"):
                to_config(_compose(app, [f"{group}={option}"]), app)
            continue
        cfg = to_config(_compose(app, [f"{group}={option}"]), app)
        assert cfg is not None


@pytest.mark.parametrize("recipe", ["multi30k_de_en", "multi30k_en_de"])
def test_recipes_bound_their_training_time(recipe):
    cfg = to_config(_compose("train", [f"experiment={recipe}"]), "train")
    assert 0 < cfg.train.max_minutes <= 90
    assert cfg.train.save_every > 0 and cfg.train.keep_last >= 5  # checkpoints to average
    assert f"{cfg.data.src_lang}_{cfg.data.tgt_lang}" == recipe.removeprefix("multi30k_")


BAD = [
    ("data.srclang=de", "data.srclang: unknown key"),
    ("+data.extra=1", "data.extra: unknown key"),
    ("tokenizer.vocab_size=abc", "tokenizer.vocab_size"),
    ("tokenizer.joint=maybe", "tokenizer.joint"),
    ("tokenizer.vocab_size=-5", "tokenizer.vocab_size=-5: must be >= 1"),
    ("tokenizer.vocab_size=3", "tokenizer.vocab_size=3: must exceed the 4 special tokens"),
    ("tokenizer.character_coverage=1.5", "tokenizer.character_coverage=1.5: must be in"),
    ("tokenizer.model_type=word", "tokenizer.model_type='word': accepted values are unigram, bpe"),
    ("tokenizer=wordpiece", "tokenizer=wordpiece: no such config; available: bpe"),
    ("data.src_lang=xx", "data.src_lang='xx': Multi30k has"),
    ("data.limit_train=-1", "data.limit_train=-1: must be >= 0"),
    ("tokenizer.bos_id=0", "the four ids must be distinct"),
    ("data.max_ratio=[1", "bad override"),
]
TRAIN_BAD = [  # keys the training run would otherwise accept and ignore
    ("train.warmup_steps=100", "train.warmup_steps=100: train.schedule=plateau has no warm-up"),
    ("decode.quantize=int8", "decode.quantize=int8: seq2seq-train validates in the training"),
    ("decode.precision=bf16", "decode.precision=bf16: seq2seq-train validates in the training"),
]
MODEL_BAD = [
    ("model.encoder.gru.dropout=1.0", "model.encoder.gru.dropout=1.0: must be in [0.0, 1.0)"),
    ("model.decoder.gru.bidirectional=true", "must be unidirectional"),
    ("model.decoder.attention=dot", "model.decoder.attention='dot': accepted values are"),
    ("model.encoder.gru.batch_first=2", "model.encoder.gru.batch_first=2: accepted values are "
     "true, false"),
    ("model.decoder.gru.bias=null", "model.decoder.gru.bias=null: accepted values are true"),
    ("model.encoder.gru.hidden_size=null", "model.encoder.gru.hidden_size=null: a value is "
     "required (a whole number)"),
]


@pytest.mark.parametrize("app", sorted(ENTRY_MODULES))
@pytest.mark.parametrize("override,expected", BAD + MODEL_BAD)
def test_bad_config_is_one_line_error(app, override, expected, tmp_path):
    section = override.lstrip("+").split(".")[0].split("=")[0]
    if section not in {f.name for f in dataclasses.fields(APP_SCHEMAS[app])}:
        pytest.skip(f"{app} has no {section} config")
    proc = run_module(ENTRY_MODULES[app], override, f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert not Path(tmp_path, ".hydra").exists(), "a refused config must not start a run"


@pytest.mark.parametrize("override,expected", TRAIN_BAD)
def test_train_keys_it_would_ignore_are_refused(override, expected, tmp_path):
    proc = run_module("seq2seq.train", override, f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {proc.stderr.strip()[7:]}"]
    assert expected in proc.stderr
    assert compose("train", ["train.schedule=linear", "train.warmup_steps=100",
                             "train.max_steps=500"]).train.warmup_steps == 100
    assert compose("evaluate", ["decode.quantize=int8"]).decode.quantize == "int8"


@pytest.mark.parametrize("app, override", [("train", "train.lr=nan"),
                                            ("evaluate", "decode.length_penalty=inf"),
                                            ("train", "data.max_ratio=-inf")])
def test_numbers_must_be_finite(app, override):
    """nan passed every range check: train.lr=nan failed inside torch, with a traceback, and
    decode.length_penalty=nan scored hypotheses of NaN scores."""
    key, value = override.split("=")
    with pytest.raises(UserError, match=f"^{re.escape(key)}={value}: must be a finite number$"):
        compose(app, ["run_dir=x"] * (app != "train") + [override])


@pytest.mark.parametrize("sweep, message", [
    ("model.encoder.gru.hidden_size=32,abc", "model.encoder.gru.hidden_size: Value 'abc' of type "
     "'str' could not be converted to Integer"),
    ("model=tiny,nope", "model=nope: no such config; available: bahdanau, cgru, default, tiny"),
    ("model.encoder.gru.bidirectional=true,yes", "model.encoder.gru.bidirectional=yes: accepted "
     "values are true, false"),
    ("train.max_steps=range(-1,1)", None),  # a rule (>= 0) is checked when the job starts
])
def test_each_value_of_a_sweep_takes_the_keys_type(sweep, message):
    """Hydra composes each job before the job's guard runs: a value of the wrong type ended the
    sweep with Hydra's five-line error."""
    register_schemas()
    argv = ["-m", sweep, "train.lr=0.1,0.2"]
    if message is None:
        assert composition.preflight("train", argv).train.lr == 0.001  # the swept keys left out
        return
    with pytest.raises(UserError, match=f"^{re.escape(message)}$"):
        composition.preflight("train", argv)


@pytest.mark.parametrize("study", ["gru_ablation", "gru_search", "quality_candidates"])
def test_the_values_a_study_config_sweeps_are_checked_before_it_starts(study):
    register_schemas()
    assert composition.preflight("train", ["-m", f"study={study}"]) is not None
    if study == "gru_search":  # the Optuna sweeper's choices
        bad = "hydra.sweeper.params={model.encoder.gru.num_layers:'choice(1,abc)'}"
        with pytest.raises(UserError, match="^model.encoder.gru.num_layers: Value 'abc' of type"):
            composition.preflight("train", ["-m", f"study={study}", bad])


def test_the_basic_sweepers_params_take_keys_from_the_command_line():
    """Hydra's basic sweeper has params null, into which an override failed inside OmegaConf
    with a raw AttributeError; it is an empty table now, added to with a +."""
    register_schemas()
    cfg = composition.preflight("train", ["-m", "+hydra.sweeper.params={train.lr: '0.1,0.2'}"])
    assert dict(cfg.hydra.sweeper.params) == {"train.lr": "0.1,0.2"}
    bad = "+hydra.sweeper.params={model.encoder.gru.hidden_size: '8,abc'}"
    with pytest.raises(UserError, match="^model.encoder.gru.hidden_size: Value 'abc' of type"):
        composition.preflight("train", ["-m", bad])
    plain = "hydra.sweeper.params={train.lr: '0.1,0.2'}"
    with pytest.raises(UserError, match=r"^hydra\.sweeper\.params\.train\.lr: a new key; to "
                       r"append to your config use \+hydra\.sweeper\.params=\{train\.lr: "):
        composition.preflight("train", ["-m", plain])

def test_help_lists_the_groups_and_the_config_without_copying_the_configs():
    proc = run_module("seq2seq.train", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "model: bahdanau, cgru, default, tiny\n" in proc.stdout
    assert "== Config ==" in proc.stdout and "  bidirectional: true\n" in proc.stdout
    from hydra._internal.config_repository import CachingConfigRepository

    before = CachingConfigRepository.__init__
    try:
        composition.share_config_repository()
        delegate = object()
        assert CachingConfigRepository(delegate).delegate is delegate
    finally:
        CachingConfigRepository.__init__ = before


def test_evaluate_refuses_an_empty_list_of_splits():
    with pytest.raises(UserError, match=r"^splits=\[\]: name at least one split"):
        compose("evaluate", ["run_dir=x", "splits=[]"])
    assert compose("evaluate", ["run_dir=x", "splits=[val]"]).splits == ["val"]


@pytest.mark.parametrize("app", ["train", "evaluate", "distill"])
def test_an_interpolation_of_the_wrong_type_is_one_line(app):
    """Found by the fuzz test: ${oc.env:HOME} for a float key failed inside OmegaConf."""
    extra = [] if app == "train" else ["run_dir=x"]
    proc = run_module(f"seq2seq.{app}", "decode.length_penalty=${oc.env:HOME}", *extra)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: decode.length_penalty: While dereferencing "
                                  "interpolation '${oc.env:HOME}'")


def test_source_embedding_tying_is_part_of_the_architecture():
    from seq2seq.overrides import architecture_differences

    saved = compose("inspect", ["model=tiny"]).model
    wanted = compose("inspect", ["model=tiny", "model.encoder.tie_embeddings=true",
                                 "model.encoder.gru.input_size=64"]).model
    assert architecture_differences(saved, wanted) == [
        "model.encoder.gru.input_size=64 (checkpoint: 32)",
        "model.encoder.tie_embeddings=True (checkpoint: False)"]


@pytest.mark.parametrize("app, key", [("train", "train.device"), ("evaluate", "device"),
                                      ("translate", "device"), ("serve", "device")])
def test_a_device_key_takes_a_numbered_gpu(app, key):
    """train.device=cuda:1 was refused by the config (auto, cpu, cuda) though the device
    chooser and the Python API take cuda:N."""
    extra = [] if app == "train" else ["run_dir=x"]
    cfg = compose(app, [*extra, f"{key}=cuda:1"])
    section, _, name = key.rpartition(".")
    assert getattr(getattr(cfg, section) if section else cfg, name) == "cuda:1"
    for bad in ("gpu", "cuda:x", "cuda1"):
        with pytest.raises(UserError, match=f"^{re.escape(key)}='{bad}': accepted values are "
                           r"auto, cpu, cuda \(or cuda:N\)$"):
            compose(app, [*extra, f"{key}={bad}"])
