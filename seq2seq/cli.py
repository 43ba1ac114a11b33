"""The CLI edge: every command is a Hydra app whose config is composed, checked and typed
(seq2seq.composition) before Hydra runs it, so that a config mistake ends the process with one
line on stderr naming the key, the value and what is accepted (exit status 2), never a
traceback; Ctrl-C outside training's own handling ends it with one line too (status 130).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seq2seq import composition, run_dirs
from seq2seq.errors import UserError

T = TypeVar("T")
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C ended


def fail(message: str) -> None:
    """End the command with a one-line error and exit status 2."""
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    sys.exit(EXIT_USER_ERROR)


def _interrupted(created: Path | None) -> None:
    """End a command that Ctrl-C stopped outside training's own handling (loading data,
    training the tokenizer, evaluating): one line, status 130, and no run directory left that
    this command created and saved nothing in."""
    run_dirs.discard(created)
    sys.stderr.write("stopped by Ctrl-C\n")
    sys.exit(EXIT_INTERRUPTED)


def command_line_overrides() -> list[str]:
    """The key=value overrides given on this run's command line (not those of the configs)."""
    return list(HydraConfig.get().overrides.task)


def run_dir() -> Path:
    """The run directory: Hydra's output directory for this job."""
    hydra_cfg = HydraConfig.get()
    if OmegaConf.is_missing(hydra_cfg.runtime, "output_dir"):  # composed, not run, by Hydra
        return Path(hydra_cfg.run.dir)
    return Path(hydra_cfg.runtime.output_dir)


def sweeping() -> bool:
    """Whether this process runs a job of a Hydra multirun (seq2seq-train -m ...)."""
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def hydra_app(app: str, guard: Callable | None = None) -> Callable[[Callable[[Any], T]],
                                                                    Callable[[], None]]:
    """Decorate `task(cfg)` into a console-script `main()` that runs it as a checked Hydra app;
    a multirun runs each job through guard(cfg, job dir, overrides, start) if given."""
    composition.register_schemas()

    def decorate(task: Callable[[Any], T]) -> Callable[[], None]:
        def run_checked(composed: DictConfig | None, created: Path | None) -> None:
            if composed is not None and run_dirs.secondary_rank():
                # the same config as rank 0, without Hydra's run directory, logs or files
                HydraConfig.instance().set_config(composed)
                try:
                    task(composition.to_config(composition.without_hydra(composed), app))
                except UserError as exc:
                    fail(str(exc))
                return

            def run(cfg: DictConfig) -> Any:
                if guard is not None and sweeping():
                    return guard(cfg, run_dir(), command_line_overrides(),
                                 lambda: task(composition.to_config(cfg, app)))
                try:
                    task(composition.to_config(cfg, app))
                except UserError as exc:
                    run_dirs.discard(created)
                    fail(str(exc))

            hydra.main(version_base="1.3", config_path=str(composition.config_dir()),
                       config_name=app)(run)()

        @functools.wraps(task)
        def main() -> None:
            created = None
            try:
                try:
                    composed = composition.preflight(app, sys.argv[1:])
                    created = run_dirs.claim(app, composed, sys.argv[1:])
                except UserError as exc:
                    fail(str(exc))
                run_checked(composed, created)
            except KeyboardInterrupt:  # training saves on Ctrl-C itself; this is before or after
                _interrupted(created)

        return main

    return decorate
