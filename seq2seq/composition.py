"""Composing a command's config with Hydra's compose API and checking it against the schema,
so that a config mistake is one line naming the key, the value and what is accepted.

`preflight` composes a command line once before Hydra runs it (each value of a sweep too);
`compose` gives a typed config outside a Hydra run (scripts, tests).
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from pathlib import Path
from typing import Any

import hydra
from hydra._internal.utils import get_args_parser
from hydra.core.config_store import ConfigStore
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from seq2seq import apps as schema
from seq2seq import config_fields, config_rules, run_dirs
from seq2seq.errors import UserError


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
            append = [line for line in str(exc).splitlines() if line.startswith("To append")]
            if not keys and append:  # a free table (hydra.sweeper.params): new keys take a +
                return f"{cause.full_key}: a new key; {append[0][0].lower()}{append[0][1:]}"
            return f"{cause.full_key}: unknown key" + (
                f"; accepted keys are {keys}" if keys else ""
            )
        if "is not Optional" in msg and schema is not None:
            return (f"{cause.full_key}=null: a value is required "
                    f"({config_fields.accepted(schema, cause.full_key)})")
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


def preflight(app: str, argv: list[str]) -> DictConfig | None:
    """Compose the command line once and check it, so that mistakes give one line, not Hydra's;
    returns the composed config with its hydra node (None for --help and the like)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args, _ = get_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help:
        share_config_repository()
    if args.help or args.hydra_help or args.shell_completion or args.info:
        return None
    overrides = list(args.overrides)
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise UserError(f"bad override: {describe_config_error(exc)}") from exc
    for o in parsed:
        if not (o.is_sweep_override() or o.is_delete() or o.is_hydra_override()):
            config_fields.check_override_types(schema.APP_SCHEMAS[app], o.key_or_group, o.value(),
                                              o.input_line)
    if args.multirun:  # each job of a sweep is checked when it starts
        overrides = [o.input_line for o in parsed if not o.is_sweep_override()]

    def compose_checked(lines: list[str]) -> DictConfig:
        try:
            return hydra.compose(config_name=args.config_name or app, overrides=lines,
                                 return_hydra_config=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise UserError(describe_config_error(exc, schema.APP_SCHEMAS[app])) from exc

    with hydra.initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose_checked(overrides)
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
                compose_checked(overrides + [line])
        one_run = cfg.hydra.output_subdir is not None and not args.multirun
        if one_run and not run_dirs.secondary_rank():
            run_dirs.check_writable(str(cfg.hydra.run.dir))
    to_config(without_hydra(cfg), app)
    return cfg


def share_config_repository() -> None:
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
    """key=value for each value of each choice or range sweep among parsed (a=1,2; range(1,4)),
    each checked as a single override is; globs and intervals (which a sweeper samples) are
    left out."""
    from hydra.core.override_parser.types import Glob

    lines = []
    for o in parsed:
        if (o.is_choice_sweep() and not isinstance(o.value(), Glob)) or o.is_range_sweep():
            for value, text in zip(o.sweep_iterator(), o.sweep_string_iterator(), strict=True):
                line = f"{o.get_key_element()}={text}"
                if not o.is_hydra_override():
                    config_fields.check_override_types(schema.APP_SCHEMAS[app], o.key_or_group,
                                                      value, line)
                lines.append(line)
    return lines


def without_hydra(cfg: DictConfig) -> DictConfig:
    """A copy of a composed config without its hydra node (keeping the schema type)."""
    job = copy.deepcopy(cfg)
    with open_dict(job):
        del job["hydra"]
    return job
