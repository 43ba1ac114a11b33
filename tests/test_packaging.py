"""The built wheel carries the configs, and an installed (non-editable) copy composes them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO

from seq2seq.cli import config_dir


@pytest.mark.slow
def test_wheel_carries_configs_and_installed_copy_composes(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("seq2seq-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {str(p.relative_to(config_dir())) for p in config_dir().rglob("*.yaml")}
    assert shipped and {f"seq2seq/configs/{n}" for n in shipped} <= names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel unpacks to its installed layout
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import seq2seq.cli as c, runpy, sys; print(c.config_dir()); "
            "sys.argv = ['prepare', '--cfg', 'job', 'tokenizer.vocab_size=1234']; "
            "runpy.run_module('seq2seq.prepare', run_name='__main__')",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert run.returncode == 0, run.stderr
    first, *rest = run.stdout.splitlines()
    assert first == str(site / "seq2seq" / "configs")
    assert "  vocab_size: 1234" in rest and "corpus: multi30k" in "\n".join(rest)
