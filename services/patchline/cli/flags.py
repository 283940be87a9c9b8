"""Command-line flags that fill a settings model: the model states each default, type and check once.

``flags = ModelFlags(RolloutStage)`` then ``flags.add(parser, "--max_tokens", field="sampling.max_tokens",
help=...)`` declares a flag whose value goes to that (dotted) field: its type and choices come from the field's
annotation, its default from the model (shown in the help; a flag left out is simply not set, so the model's
default applies), and a bad value is refused by the model with the flag's name in the message.
``flags.build(args, workflow={"type": "bugfixer"})`` returns the validated model.
"""

from __future__ import annotations

import argparse
import enum
import types
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from patchline.core.errors import InputError

__all__ = ["ModelFlags", "field_info"]

M = TypeVar("M", bound=BaseModel)


def field_info(model: type[BaseModel], path: str) -> FieldInfo:
    """The field at a dotted ``path`` of ``model`` (through nested models)."""
    current: type[BaseModel] = model
    *parents, last = path.split(".")
    for name in parents:
        current = _model_of(current.model_fields[name].annotation)
    return current.model_fields[last]


def _model_of(annotation: Any) -> type[BaseModel]:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    raise TypeError(f"{annotation!r} is not a model")


def _scalar(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _scalar(args[0]) if len(args) == 1 else annotation
    return annotation


def _default_text(info: FieldInfo) -> str:
    if info.is_required():
        return " (required)"
    default = info.get_default(call_default_factory=True)
    if isinstance(default, enum.Enum):
        default = default.value
    if default is None or isinstance(default, BaseModel):
        return ""
    return f" (default: {default})"


class ModelFlags(Generic[M]):
    """The flags of one command whose values fill ``model``."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._flags: dict[str, str] = {}  # dotted field -> the flag's first spelling

    def add(
        self,
        parser: argparse.ArgumentParser,
        *names: str,
        field: str,
        help: str,
        parse: Callable[[str], Any] | None = None,
        metavar: str | None = None,
    ) -> None:
        """Add a flag for ``field``; ``parse`` replaces the value parser derived from the annotation."""
        info = field_info(self.model, field)
        annotation = _scalar(info.annotation)
        kwargs: dict[str, Any] = {"dest": field, "default": argparse.SUPPRESS, "help": help + _default_text(info)}
        if annotation is bool and parse is None:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            if get_origin(annotation) is Literal:
                kwargs["choices"] = list(get_args(annotation))
            elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
                kwargs["choices"] = [member.value for member in annotation]
            elif parse is None and annotation in (int, float, str):
                parse = annotation
            kwargs["type"] = parse
            kwargs["metavar"] = metavar or names[0].lstrip("-").replace("-", "_").upper()
        parser.add_argument(*names, **kwargs)
        self._flags[field] = names[0]

    def given(self, args: argparse.Namespace) -> dict[str, Any]:
        """The values of the flags given on the command line, as a nested mapping of fields."""
        tree: dict[str, Any] = {}
        for field in self._flags:
            if hasattr(args, field):
                *parents, last = field.split(".")
                node = tree
                for name in parents:
                    node = node.setdefault(name, {})
                node[last] = getattr(args, field)
        return tree

    def build(self, args: argparse.Namespace, **fixed: Any) -> M:
        """The model from the flags given and ``fixed`` values (merged below them); InputError names the flag."""
        data = _merge(_merge(_model_defaults(self.model), fixed), self.given(args))
        try:
            return self.model.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            where = self._flags.get(field) or _closest_flag(field, self._flags) or field or "settings"
            raise InputError(f"{where}: {error['msg'].removeprefix('Value error, ')}") from None


def _model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """What the defaults of the model's section fields set (``dataset.source``), to merge flags into."""
    found: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            continue
        default = info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            found[name] = default.model_dump(exclude_unset=True)
    return found


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        below = out.get(key)
        out[key] = _merge(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
    return out


def _closest_flag(field: str, flags: Mapping[str, str]) -> str | None:
    """The flag of a field below ``field`` (a model-level check such as "skipGreedy needs 2 samples")."""
    below = [flag for name, flag in flags.items() if name.startswith(f"{field}.")] if field else []
    return " / ".join(below) or None
