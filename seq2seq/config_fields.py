"""A config field's own rules: the range or choices its schema metadata declares, and the kind
of value its declared type takes (for values typed on a command line or made in code). The rules
that tie fields together are in seq2seq/config_rules.py."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from typing import Any

from seq2seq.errors import UserError


def check_field(key: str, value: Any, meta: Any) -> None:
    """One value against its field's metadata: the pattern of a string field, the finite range
    of a number."""
    pattern = meta.get("pattern")  # a string field's accepted values (one_of, device_name)
    if pattern and not (isinstance(value, str) and re.fullmatch(pattern, value)):
        raise UserError(f"{key}={value!r}: accepted values are {meta['accepted']}")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not math.isfinite(value):
        raise UserError(f"{key}={value}: must be a finite number")
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and value < lo:
        raise UserError(f"{key}={value}: must be >= {lo}")
    if hi is not None and (value >= hi if meta.get("hi_open") else value > hi):
        bound = f"[{lo}, {hi})" if meta.get("hi_open") else f"[{lo}, {hi}]"
        raise UserError(f"{key}={value}: must be in {bound}")


def check_fields(obj: Any, prefix: str) -> None:
    """Every field of a config dataclass (nested ones too) within its range or choices; keys
    named from prefix."""
    for f in dataclasses.fields(obj):
        key = f"{prefix}{f.name}"
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            check_fields(value, key + ".")
        else:
            check_field(key, value, f.metadata)


def field_type(schema: type, key: str) -> Any:
    """The declared type of a dotted key in a schema dataclass (None if there is none)."""
    cls: Any = schema
    for part in key.split("."):
        if not dataclasses.is_dataclass(cls):
            return None
        cls = typing.get_type_hints(cls).get(part)
    return cls


def accepted(schema: type, key: str) -> str:
    """What a key accepts, in words."""
    kind = field_type(schema, key)
    kind = next((a for a in typing.get_args(kind) if a is not type(None)), kind)
    return {bool: "true or false", int: "a whole number", float: "a number",
            str: "a string"}.get(kind, "a value of the schema's type")


def check_override_types(schema: type, key: str, value: Any, text: str) -> None:
    """A bool key set on the command line (text: as typed) takes true or false, not 2, yes or
    on (which the config library would turn into true)."""
    if field_type(schema, key) is bool and not isinstance(value, bool):
        raise UserError(f"{text}: accepted values are true, false")


# what a value made in code may be, by the declared type: an int stands for a float too
_KINDS = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}


def check_kind(schema: type, key: str, value: Any, prefix: str) -> None:
    """value (made in code, not parsed from a config) is of the kind key declares."""
    declared = field_type(schema, key)
    kinds = [k for k in typing.get_args(declared) or (declared,) if k is not type(None)]
    if value is None and type(None) in typing.get_args(declared):
        return
    if not any(isinstance(value, bool) == (k is bool) and isinstance(value, _KINDS.get(k, object))
               for k in kinds):
        raise UserError(f"{prefix}{key}={value!r}: must be {accepted(schema, key)}")
