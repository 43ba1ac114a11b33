"""The built wheel carries the configs, and an installed (non-editable) copy composes them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO

from seq2seq.composition import config_dir


@pytest.mark.slow
def test_wheel_carries_configs_and_installed_copy_composes(tmp_path):
    # built from a copy without build/ leftovers, which setuptools would otherwise ship
    tree = tmp_path / "tree"
    shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "runs", "outputs", "__pycache__", ".*_cache"))
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
            str(tree),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("seq2seq-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {str(p.relative_to(config_dir())) for p in config_dir().rglob("*.yaml")}
    assert shipped and {f"seq2seq/configs/{n}" for n in shipped} <= names
    assert "seq2seq/serving/page.html" in names
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target",
         str(site), str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import seq2seq.composition as c, runpy, sys; print(c.config_dir()); "
            "sys.argv = ['prepare', '--cfg', 'job', 'tokenizer.vocab_size=1234']; "
            "runpy.run_module('seq2seq.prepare', run_name='__main__')",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    first, *rest = run.stdout.splitlines()
    assert first == str(site / "seq2seq" / "configs")
    assert "  vocab_size: 1234" in rest and "corpus: multi30k" in "\n".join(rest)

    # every module of the source tree is in the installed copy and imports from there
    source = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in (REPO / "seq2seq").rglob("*.py")
    )
    check = subprocess.run(
        [sys.executable, "-c",
         "import importlib, sys\n"
         "for name in sys.argv[1:]:\n"
         "    print(name, importlib.import_module(name).__file__)"] + source,
        capture_output=True, text=True, cwd=tmp_path, env=env)
    assert check.returncode == 0, check.stderr[-2000:]
    files = dict(line.split(" ", 1) for line in check.stdout.splitlines())
    assert sorted(files) == source and len(source) > 40
    assert all(f.startswith(str(site)) for f in files.values()), files

    # a console script of the installed copy runs a command
    inspect = subprocess.run([str(site / "bin" / "seq2seq-inspect"), "model=tiny"],
                             capture_output=True, text=True, cwd=tmp_path, env=env)
    assert inspect.returncode == 0, inspect.stderr[-2000:]
    assert "encoder: GRU(32, 32, batch_first=True" in inspect.stdout
    assert "total                  830,144" in inspect.stdout


@pytest.mark.parametrize("given,kept", [(None, "8192"), ("300", "300")])
def test_importing_the_package_keeps_more_onednn_kernels_unless_told(given, kept):
    """seq2seq sets oneDNN's kernel cache (ONEDNN_PRIMITIVE_CACHE_CAPACITY) to 8,192 before
    torch's first product, unless the environment already names a size."""
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    if given is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = given
    code = "import os, seq2seq; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == kept
