"""Typer's option coercion without pydantic for the plain types the CLI uses.

Typer (0.2x) coerces every parameter's value through a pydantic `TypeAdapter`, built
on first use. Importing pydantic and building the adapters cost `longtask status`
about 0.1-0.2 s of its 0.4 s (`python -X importtime`, issue 24), for values that are
already a `str`, an `int` default or an `Enum` member. `install()` puts a light path
in front of Typer's: a value of a plain type (str, int, float, an Enum, a list of
str) that converts unambiguously is converted here; anything else (a bad number, a
Path, a parser, a range, an envvar string for a bool) goes to Typer's own adapter,
so errors and every other result are Typer's, word for word.

Typer's `core.build_runtime_param` and `_coercion.RuntimeParam` are internals: where
they are missing (an older Typer coerced through click, without pydantic) `install`
does nothing. tests/test_cli_coercion.py pins that both paths give the same values.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

_MISS = object()  # the light path cannot decide: Typer's adapter answers
_INT = re.compile(r"-?[0-9]{1,18}")
_FLOAT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")


def _optional_of(annotation: Any) -> Any:
    """`X` for `Optional[X]` / `X | None`, else the annotation itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _leaf(annotation: Any) -> Callable[[Any, Any], Any] | None:
    """A converter `(value, ctx) -> value or _MISS` for a plain leaf type, else None."""
    if annotation is str:
        return lambda v, ctx: v if isinstance(v, str) else _MISS
    if annotation is bool:  # a flag's own True/False; an envvar's string goes to Typer
        return lambda v, ctx: v if isinstance(v, bool) else _MISS
    if annotation is int:

        def to_int(v: Any, ctx: Any) -> Any:
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            return int(v) if isinstance(v, str) and _INT.fullmatch(v) else _MISS

        return to_int
    if annotation is float:

        def to_float(v: Any, ctx: Any) -> Any:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
            return float(v) if isinstance(v, str) and _FLOAT.fullmatch(v) else _MISS

        return to_float
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        members = list(annotation)
        by_value = {str(m.value): m for m in members}

        def to_member(v: Any, ctx: Any) -> Any:
            if any(v is m for m in members):
                return v
            if getattr(ctx, "token_normalize_func", None) is not None or not isinstance(v, str):
                return _MISS
            return by_value.get(v, _MISS)

        return to_member
    return None


def _converter(annotation: Any, info: Any) -> Callable[[Any, Any], Any] | None:
    """The light converter for a parameter, or None where Typer's adapter must do it:
    a parser, a click type, a range, case-insensitive choices or path checks."""
    if (
        getattr(info, "parser", None) is not None
        or getattr(info, "click_type", None) is not None
        or getattr(info, "min", None) is not None
        or getattr(info, "max", None) is not None
        or getattr(info, "path_type", None) is not None
        or getattr(info, "case_sensitive", True) is not True
        or any(getattr(info, flag, None) for flag in ("exists", "resolve_path", "allow_dash"))
    ):
        return None
    annotation = _optional_of(annotation)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (None,)
        leaf = _leaf(item)
        if leaf is None:
            return None

        def to_list(v: Any, ctx: Any) -> Any:
            if not isinstance(v, (list, tuple)):
                return _MISS
            got = [leaf(x, ctx) for x in v]
            return _MISS if any(x is _MISS for x in got) else got

        return to_list
    return _leaf(annotation)


def install() -> bool:
    """Put the light path in front of Typer's coercion; False where this Typer has none
    to replace (then nothing changes)."""
    try:
        from typer import _coercion, core
    except ImportError:
        return False
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_longtask_light", False):
        return original is not None and base is not None
    typers: Callable[[Any], Any] = original

    @dataclass(frozen=True)
    class LightRuntimeParam(base):  # type: ignore[valid-type,misc]
        """A plain value converted here; anything else by Typer's adapter, built then."""

        convert: Callable[[Any, Any], Any]
        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            got = self.convert(value, ctx)
            if got is _MISS:
                return typers(self.descriptor)._coerce_value(value, param=param, ctx=ctx)
            return got

    def build_runtime_param(descriptor: Any) -> Any:
        if getattr(descriptor, "file_annotation", None) is None:
            convert = _converter(descriptor.annotation, descriptor.parameter_info)
            if convert is not None:
                return LightRuntimeParam(
                    parameter_info=descriptor.parameter_info,
                    annotation=descriptor.annotation,
                    convert=convert,
                    descriptor=descriptor,
                )
        return typers(descriptor)

    build_runtime_param._longtask_light = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True
