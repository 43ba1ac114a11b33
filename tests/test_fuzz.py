"""Fuzzing with hypothesis: random config values, corpus bytes and piped bytes give a result or
one clear line, never a traceback. Each test tries FUZZ_EXAMPLES inputs (100 unless the
environment variable SEQ2SEQ_FUZZ_EXAMPLES says more: scripts/fuzz_campaign.py does)."""

from __future__ import annotations

import dataclasses
import gzip
import os
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seq2seq import composition
from seq2seq.apps import APP_SCHEMAS
from seq2seq.data.corpus import SplitFiles, read_parallel
from seq2seq.decoding.translator import Translator
from seq2seq.errors import UserError
from seq2seq.frontends.pipe import translate_stream

FUZZ_EXAMPLES = int(os.environ.get("SEQ2SEQ_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _keys(cls: type, prefix: str = "") -> list[str]:
    """Every dotted leaf key of a schema dataclass."""
    keys = []
    for name, kind in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(kind):
            keys += _keys(kind, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


KEYS = sorted({(app, key) for app, cls in APP_SCHEMAS.items() for key in _keys(cls)})
VALUES = st.one_of(
    st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(repr),
    st.sampled_from(["true", "false", "null", "yes", "[]", "[1,2]", "{}", "''", "nan", "-inf",
                     "${oc.env:HOME}", "1e999", "0x10", "[a", "}"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
)


@FUZZ
@given(entry=st.sampled_from(KEYS), value=VALUES)
def test_any_value_for_any_config_key_is_accepted_or_one_line(entry, value):
    app, key = entry
    try:
        cfg = composition.preflight(app, [f"{key}={value}",
                                          "hydra.run.dir=/tmp/seq2seq-fuzz-unused"])
        if cfg is not None:
            composition.to_config(composition.without_hydra(cfg), app)
    except UserError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message


@FUZZ
@given(src=st.binary(max_size=300), tgt=st.binary(max_size=300), gz=st.booleans())
def test_random_corpus_bytes_read_or_name_file_and_line(tmp_path_factory, src, tgt, gz):
    folder = tmp_path_factory.mktemp("corpus")
    paths = []
    for lang, data in (("de", src), ("en", tgt)):
        path = folder / (f"c.{lang}.gz" if gz else f"c.{lang}")
        path.write_bytes(gzip.compress(data) if gz else data)
        paths.append(path)
    try:
        de, en = read_parallel(SplitFiles(*paths))
        assert len(de) == len(en)
    except UserError as exc:
        message = str(exc)
        assert "\n" not in message and any(str(p) in message for p in paths), message


@pytest.fixture(scope="module")
def translator(trained_run):
    return Translator.load(trained_run, beam_size=2, device="cpu", max_len_b=3)


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_through_pipe_mode_give_one_line_each(translator, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("pipe")
    (folder / "in.txt").write_bytes(data)
    count = translate_stream(translator, str(folder / "in.txt"), str(folder / "out.txt"), False)
    lines = data.split(b"\n")
    expected = len(lines) - (1 if lines[-1] == b"" else 0)
    assert count == expected
    assert (folder / "out.txt").read_bytes().count(b"\n") == expected
