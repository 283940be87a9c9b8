"""Reading a run manifest (YAML or JSON) into an ``InferenceRun`` or a ``Rollout``, with errors that say where."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from patchline.core.errors import InputError
from patchline.core.spec.base import API_VERSION
from patchline.core.spec.manifest import InferenceRun, Rollout

__all__ = [
    "KINDS",
    "Manifest",
    "field_path",
    "format_validation_error",
    "load_manifest",
    "parse_manifest",
    "validated",
]

Manifest = InferenceRun | Rollout
M = TypeVar("M", bound=BaseModel)

KINDS: Mapping[str, type[InferenceRun] | type[Rollout]] = MappingProxyType(
    {"InferenceRun": InferenceRun, "Rollout": Rollout}
)
_MAX_REPORTED_ERRORS = 5


def load_manifest(path_or_text: str | Path) -> Manifest:
    """Read a manifest from a file (a ``Path``, or a one-line string) or from YAML text (a multi-line string).

    Raises :class:`InputError` naming the file and the field path (``spec.engine.tpSize: ...``).
    """
    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and not path_or_text.lstrip().startswith("{")):
        path = Path(path_or_text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from None
        source = str(path)
    else:
        text, source = str(path_or_text), "<manifest>"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse_manifest(data, source=source)


def parse_manifest(data: Any, *, source: str = "<manifest>") -> Manifest:
    """Validate an already-parsed manifest (a mapping, e.g. a custom resource from the Kubernetes API)."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: a manifest must be a mapping, got {type(data).__name__}")
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if api_version != API_VERSION:
        raise InputError(f"{source}: apiVersion: expected {API_VERSION!r}, got {api_version!r}")
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise InputError(f"{source}: kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {format_validation_error(exc, data)}") from None


def validated(model_type: type[M], data: Any, *, where: str) -> M:
    """``data`` validated as ``model_type``; InputError naming ``where.field`` at the first problem."""
    try:
        return model_type.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{where}.{field_path(first['loc'], data)}: {first['msg']}") from None


def format_validation_error(exc: ValidationError, data: Any) -> str:
    """The first few errors as ``field.path: message``, with camelCase names as written in the manifest."""
    parts = [f"{field_path(err['loc'], data)}: {err['msg']}" for err in exc.errors()[:_MAX_REPORTED_ERRORS]]
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"(and {more} more)")
    return "; ".join(parts)


def field_path(loc: Sequence[int | str], data: Any) -> str:
    """Render an error location, dropping the tag segments pydantic inserts for discriminated unions.

    A segment is a union tag when the object at that point has no such key and its ``type`` is the segment.
    """
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            continue
        if isinstance(node, Mapping) and item not in node and node.get("type") == item:
            continue
        parts.append(f".{item}" if parts else item)
        node = node.get(item) if isinstance(node, Mapping) else None
    return "".join(parts) or "(top level)"
