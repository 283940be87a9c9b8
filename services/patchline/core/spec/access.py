"""What a settings field reaches outside the process: a file to read or write, a dataset, a model endpoint, a key set.

Every field of a stage model that names something outside the process carries one :class:`Access` marker in its
annotation (``input: ReadUri``, ``urls: HttpUrls``). The service edge derives the whole list of fields to check
from these markers (``patchline.core.access.AccessPolicy.checked``), so a new path field is checked by adding the
marker, never by extending a list elsewhere; a unit test fails for a path-like field that has none. Markers are
plain annotation metadata: they change neither validation nor the JSON schema, the CRDs or the protos.
"""

from __future__ import annotations

import enum
import typing
from typing import Annotated, Any

from pydantic import StringConstraints
from pydantic.fields import FieldInfo

from patchline.core.settings import KEY_SET_NAME

__all__ = [
    "KEY_SET_NAME",
    "Access",
    "DatasetSource",
    "KeySetName",
    "NotAPath",
    "ReadUri",
    "WriteUri",
    "field_access",
]


class Access(enum.Enum):
    """How a field reaches outside the process (the service edge checks each kind against its allowlist)."""

    READ = "read"  # a file or folder the stage reads: inside the store or an --allow-read root
    WRITE = "write"  # a file or folder the stage writes: inside the store
    DATASET = "dataset"  # a dataset file (read, as above) or a Hugging Face dataset name
    ENDPOINT = "endpoint"  # model endpoint URLs: each must match an --allow-endpoint rule
    KEY_SET = "key set"  # the name of a key set the server was configured with (--key-set)
    NOT_A_PATH = "not a path"  # named like a path but is none (a custom_id bound): nothing to check


ReadUri = Annotated[str, Access.READ]
"""A path or URI the stage reads."""

WriteUri = Annotated[str, Access.WRITE]
"""A path or URI the stage writes (or a folder it writes below)."""

DatasetSource = Annotated[str, Access.DATASET]
"""A ``.json``/``.jsonl``/``.parquet`` file path or URI, or a Hugging Face dataset name."""

NotAPath = Annotated[str, Access.NOT_A_PATH]
"""A string whose name looks like a path field's but which never reaches the file system."""

KeySetName = Annotated[str, StringConstraints(pattern=KEY_SET_NAME), Access.KEY_SET]
"""The name of a configured key set (never an environment variable, never a key)."""


def _marker_in(annotation: Any) -> Access | None:
    """The marker of an annotation, looking through ``X | None`` and ``list[X]``."""
    for item in getattr(annotation, "__metadata__", ()):
        if isinstance(item, Access):
            return item
    for arg in typing.get_args(annotation):
        found = _marker_in(arg)
        if found is not None:
            return found
    return None


def field_access(field: FieldInfo) -> Access | None:
    """The :class:`Access` marker of a model field, if it has one."""
    for item in field.metadata:
        if isinstance(item, Access):
            return item
    return _marker_in(field.annotation)
