"""The CLI edge: every command is a Hydra app whose config is composed, checked and typed here.

Before Hydra runs the command, the command line is composed once with Hydra's compose API and
checked against the schema, so that a config mistake ends the process with one line on stderr
naming the key, the value and what is accepted (exit status 2), never a traceback.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import hydra
from hydra._internal.utils import get_args_parser
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from seq2seq import apps as schema
from seq2seq import config_rules, run_dirs
from seq2seq.errors import UserError

T = TypeVar("T")
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C ended


def config_dir() -> Path:
    """The Hydra config folder: inside the installed package, else the source tree's configs/."""
    packaged = Path(__file__).resolve().parent / "configs"
    if (packaged / "__init__.py").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "configs"


def register_schemas() -> None:
    """Store each command's dataclass schema so that its primary YAML can extend it."""
    store = ConfigStore.instance()
    for name, node in schema.APP_SCHEMAS.items():
        store.store(name=f"{name}_schema", node=node)


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


def _accepted_keys(object_type: Any) -> str:
    try:
        return ", ".join(f.name for f in dataclasses.fields(object_type))
    except TypeError:
        return ""


def describe_config_error(exc: BaseException, schema: type | None = None) -> str:
    """One line for a composition, override-syntax or schema error (schema: the app's, to say
    what a key accepts)."""
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        options = ", ".join(exc.options or [])
        return f"{group}={name}: no such config" + (f"; available: {options}" if options else "")
    cause = exc if isinstance(exc, OmegaConfBaseException) else exc.__cause__
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        msg = (cause.msg or str(cause)).splitlines()[0]
        if isinstance(cause, ConfigKeyError | ConfigAttributeError):
            keys = _accepted_keys(cause.object_type)
            return f"{cause.full_key}: unknown key" + (
                f"; accepted keys are {keys}" if keys else ""
            )
        if "is not Optional" in msg and schema is not None:
            return (f"{cause.full_key}=null: a value is required "
                    f"({config_rules.accepted(schema, cause.full_key)})")
        return f"{cause.full_key}: {msg}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines)


def _refuse_unknown_keys(node: Any, cls: type, prefix: str) -> None:
    """Refuse keys that the schema lacks (Hydra lets +key=value append them)."""
    fields = typing.get_type_hints(cls)
    for key in node:
        if key not in fields:
            raise UserError(f"{prefix}{key}: unknown key; accepted keys are {', '.join(fields)}")
        value = node[key] if not OmegaConf.is_missing(node, key) else None
        if isinstance(value, DictConfig) and dataclasses.is_dataclass(fields[key]):
            _refuse_unknown_keys(value, fields[key], f"{prefix}{key}.")


def to_config(cfg: DictConfig, app: str) -> Any:
    """Turn a composed config into the app's dataclasses and check every value."""
    try:  # an interpolation that gives a value of the wrong type fails here
        missing = sorted(OmegaConf.missing_keys(cfg))
    except OmegaConfBaseException as exc:
        raise UserError(describe_config_error(exc)) from exc
    if missing:
        raise UserError(f"{missing[0]}: a value is required (set {missing[0]}=...)")
    _refuse_unknown_keys(cfg, schema.APP_SCHEMAS[app], "")
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as exc:
        raise UserError(describe_config_error(exc)) from exc
    config_rules.validate(obj)
    return obj


def compose(app: str, overrides: list[str]) -> Any:
    """The app's typed config for these overrides, outside a Hydra run (scripts, tests); a
    mistake raises UserError with one line."""
    register_schemas()
    with hydra.initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        try:
            cfg = hydra.compose(config_name=app, overrides=overrides)
        except (HydraException, OmegaConfBaseException) as exc:
            raise UserError(describe_config_error(exc)) from exc
    return to_config(cfg, app)


def _preflight(app: str, argv: list[str]) -> DictConfig | None:
    """Compose the command line once and check it, so that mistakes give one line, not Hydra's;
    returns the composed config with its hydra node (None for --help and the like)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args, _ = get_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help:
        _share_config_repository()
    if args.help or args.hydra_help or args.shell_completion or args.info:
        return None
    overrides = list(args.overrides)
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise UserError(f"bad override: {describe_config_error(exc)}") from exc
    for o in parsed:
        if not (o.is_sweep_override() or o.is_delete() or o.is_hydra_override()):
            config_rules.check_override_types(schema.APP_SCHEMAS[app], o.key_or_group, o.value(),
                                              o.input_line)
    if args.multirun:  # each job of a sweep is checked when it starts
        overrides = [o.input_line for o in parsed if not o.is_sweep_override()]

    def compose(lines: list[str]) -> DictConfig:
        try:
            return hydra.compose(config_name=args.config_name or app, overrides=lines,
                                 return_hydra_config=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise UserError(describe_config_error(exc, schema.APP_SCHEMAS[app])) from exc

    with hydra.initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(overrides)
        if args.multirun:
            # but Hydra composes a job before it starts: here, that each value of a swept key
            # (on the command line or in hydra.sweeper.params) is one the key takes
            params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
            try:
                swept = parsed + OverridesParser.create().parse_overrides(
                    [f"{key}={value}" for key, value in params.items()])
            except HydraException as exc:
                raise UserError(f"hydra.sweeper.params: {describe_config_error(exc)}") from exc
            for line in _each_sweep_value(app, swept):
                compose(overrides + [line])
        one_run = cfg.hydra.output_subdir is not None and not args.multirun
        if one_run and not run_dirs.secondary_rank():
            run_dirs.check_writable(str(cfg.hydra.run.dir))
    to_config(_without_hydra(cfg), app)
    return cfg






def _share_config_repository() -> None:
    """For --help: Hydra lists each config group through a new CachingConfigRepository, and
    each deep-copies every config source, the ConfigStore's schemas included (107 copies, 2.3
    of the 4 seconds `seq2seq-train --help` took on a 2-core AMD EPYC). Listing only reads
    configs, so the copies share the one repository; the help text is the same."""
    from hydra._internal import config_repository

    def share(self, delegate) -> None:
        self.delegate, self.cache = delegate, {}

    if hasattr(config_repository, "CachingConfigRepository"):
        config_repository.CachingConfigRepository.__init__ = share


def _each_sweep_value(app: str, parsed: list) -> list[str]:
    """key=value for each value of each choice or range sweep on the command line (a=1,2;
    range(1,4)), each checked as a single override is; globs and intervals (which a sweeper
    samples) are left out."""
    from hydra.core.override_parser.types import Glob

    lines = []
    for o in parsed:
        if (o.is_choice_sweep() and not isinstance(o.value(), Glob)) or o.is_range_sweep():
            for value, text in zip(o.sweep_iterator(), o.sweep_string_iterator(), strict=True):
                line = f"{o.get_key_element()}={text}"
                if not o.is_hydra_override():
                    config_rules.check_override_types(schema.APP_SCHEMAS[app], o.key_or_group,
                                                      value, line)
                lines.append(line)
    return lines


def _without_hydra(cfg: DictConfig) -> DictConfig:
    """A copy of a composed config without its hydra node (keeping the schema type)."""
    job = copy.deepcopy(cfg)
    with open_dict(job):
        del job["hydra"]
    return job






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
    register_schemas()

    def decorate(task: Callable[[Any], T]) -> Callable[[], None]:
        def run_checked(composed: DictConfig | None, created: Path | None) -> None:
            if composed is not None and run_dirs.secondary_rank():
                # the same config as rank 0, without Hydra's run directory, logs or files
                HydraConfig.instance().set_config(composed)
                try:
                    task(to_config(_without_hydra(composed), app))
                except UserError as exc:
                    fail(str(exc))
                return

            def run(cfg: DictConfig) -> Any:
                if guard is not None and sweeping():
                    return guard(cfg, run_dir(), command_line_overrides(),
                                 lambda: task(to_config(cfg, app)))
                try:
                    task(to_config(cfg, app))
                except UserError as exc:
                    run_dirs.discard(created)
                    fail(str(exc))

            hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=app)(run)()

        @functools.wraps(task)
        def main() -> None:
            created = None
            try:
                try:
                    composed = _preflight(app, sys.argv[1:])
                    created = run_dirs.claim(app, composed, sys.argv[1:])
                except UserError as exc:
                    fail(str(exc))
                run_checked(composed, created)
            except KeyboardInterrupt:  # training saves on Ctrl-C itself; this is before or after
                _interrupted(created)

        return main

    return decorate
