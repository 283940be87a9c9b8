"""Which settings decide what a stage produces, and the digest of them that a stage record keeps.

A stage's record says it succeeded *with these settings*: a rerun whose planned settings digest the same
reuses the record, one whose settings changed runs the stage again (it resumes from its artifacts, which
check their own fingerprints). Fields that change only how a stage runs, not what it writes (how many
requests are in flight, retries, time limits, worker counts, the rerun policy itself), carry the
:data:`HOW_IT_RUNS` marker in their annotation and are left out, so raising the concurrency of a
finished run does not redo it. Defaults are left out too, so a field added later with a default keeps the
digests of earlier runs.
"""

from __future__ import annotations

import hashlib
import json
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

__all__ = ["HOW_IT_RUNS", "HowItRuns", "settings_digest"]


class HowItRuns:
    """Annotation marker of a field that changes how a stage runs, never what it produces."""

    def __repr__(self) -> str:
        return "HOW_IT_RUNS"


HOW_IT_RUNS = HowItRuns()


def _marked(annotation: Any) -> bool:
    if any(isinstance(item, HowItRuns) for item in getattr(annotation, "__metadata__", ())):
        return True
    return any(_marked(arg) for arg in typing.get_args(annotation))


def _how_it_runs(field: FieldInfo) -> bool:
    return any(isinstance(item, HowItRuns) for item in field.metadata) or _marked(field.annotation)


def _left_out(model: BaseModel) -> dict[str, Any]:
    """Pydantic's ``exclude`` argument naming every marked field of ``model``, nested models included."""
    left_out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        if _how_it_runs(info):
            left_out[name] = True
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            if inner := _left_out(value):
                left_out[name] = inner
        elif isinstance(value, list):
            items = {
                i: inner for i, item in enumerate(value) if isinstance(item, BaseModel) and (inner := _left_out(item))
            }
            if items:
                left_out[name] = items
    return left_out


def settings_digest(settings: BaseModel) -> str:
    """A short digest of what in ``settings`` decides a stage's outputs (marked fields and defaults left out)."""
    decisive = settings.model_dump(mode="json", exclude_defaults=True, exclude=_left_out(settings))
    text = json.dumps({"kind": type(settings).__name__, "settings": decisive}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
