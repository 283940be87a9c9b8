"""Dataset records: SWE-bench instances (Hugging Face name, .json, .jsonl, .parquet) and EditBench lines.

Every record is validated. A bad record is reported as ``source:N: field: reason`` and, under
``ErrorPolicy.SKIP`` (the default), skipped while the rest loads; ``ErrorPolicy.FAIL`` raises it. ``N``
is the line number in a ``.jsonl`` file and the 1-based record (row) number elsewhere; the source then
reads ``file#record`` or ``file#row`` so the two are never confused.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchline.core.errors import InputError, MalformedLineError, RecordError, UnavailableError, UnsafePathError
from patchline.core.jsonl import (
    ErrorPolicy,
    ErrorSink,
    NumberedRecord,
    iter_jsonl,
    iter_models,
    load_json,
    report_bad_line,
)
from patchline.core.repos_git import validate_commit
from patchline.core.safepath import safe_component
from patchline.core.spec import Dataset
from patchline.core.spec.manifest import HUB_DATASET_NAME, is_dataset_file
from patchline.core.store import open_artifact

__all__ = [
    "BenchLine",
    "InfbenchLine",
    "SWEbenchInstance",
    "iter_bench",
    "iter_infbench",
    "iter_selected",
    "iter_swebench",
    "load_swebench_index",
    "selected_index",
]

M = TypeVar("M", bound=BaseModel)

_PARQUET_BATCH_ROWS = 256


def _safe_instance_id(value: str) -> str:
    try:
        return safe_component(value, what="instance id")
    except UnsafePathError as exc:
        raise ValueError(str(exc)) from exc


def _test_list(value: Any) -> Any:
    """FAIL_TO_PASS / PASS_TO_PASS: a JSON string (as on the hub) or a list; empty string means none."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            return load_json(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list of test names ({exc.msg})") from exc
    return value


def _as_text(value: Any) -> Any:
    """Numbers (``version`` 3.0) and timestamps (``created_at`` from parquet) as text; None as empty."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


class SWEbenchInstance(BaseModel):
    """One SWE-bench task instance; fields beyond the canonical ones are kept (``model_extra``)."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    patch: str
    test_patch: str
    hints_text: str = ""
    created_at: str = ""
    version: str = ""
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    environment_setup_commit: str = ""

    @field_validator("instance_id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return _safe_instance_id(value)

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _tests(cls, value: Any) -> Any:
        return _test_list(value)

    @field_validator("hints_text", "created_at", "version", "environment_setup_commit", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _as_text(value)

    @field_validator("base_commit")
    @classmethod
    def _check_commit(cls, value: str) -> str:
        try:
            return validate_commit(value)
        except InputError as exc:
            raise ValueError(str(exc)) from exc


def _join_texts(value: Any) -> Any:
    """EditBench message fields: None as empty, a list of texts (several issues) joined by blank lines."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    return value


class BenchLine(BaseModel):
    """One EditBench instance: a pull request's work as an ordered list of steps, each a list of diffs."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    repo: str
    base_commit: str | None = None
    created_at: str | None = None
    title_mes: str = ""
    body_mes: str = ""
    issues_mes: str = ""
    work_patch_list: list[list[str]]
    files_work: list[str]
    files_test: list[str] = Field(default_factory=list)

    @field_validator("instance_id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return _safe_instance_id(value)

    @field_validator("title_mes", "body_mes", "issues_mes", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        return _join_texts(value)

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, (datetime, date)) else value


class InfbenchLine(BenchLine):
    """A bench line made into a prompt: the history before ``split_idx`` and the diff still to write."""

    prompt: str
    split_idx: int
    pre_edits: list[str]
    ground_truth: str


# -- reading ---------------------------------------------------------------------------------------------


def _jsonl_models(
    path: str, model: type[M], policy: ErrorPolicy, on_error: ErrorSink | None
) -> Iterator[tuple[int, M]]:
    store, name = open_artifact(path)
    records = iter_jsonl(store.iter_lines(name), source=path, policy=policy, on_error=on_error)
    yield from iter_models(records, model, source=path, policy=policy, on_error=on_error)


def _numbered(
    rows: Iterable[Any], source: str, policy: ErrorPolicy, on_error: ErrorSink | None
) -> Iterator[NumberedRecord]:
    for number, row in enumerate(rows, start=1):
        if isinstance(row, Mapping):
            yield NumberedRecord(number, dict(row))
        else:
            report_bad_line(
                MalformedLineError(source, number, f"expected an object, got {type(row).__name__}"), policy, on_error
            )


def _json_rows(path: str, split: str) -> list[Any]:
    store, name = open_artifact(path)
    try:
        document = load_json(store.read_bytes(name))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from exc
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in (split, "data"):
            if isinstance(document.get(key), list):
                return list(document[key])
    raise InputError(f"{path}: expected a list of instances or an object with a {split!r} or 'data' list")


def _parquet_rows(path: str) -> Iterator[dict[str, Any]]:
    import pyarrow as pa  # heavy import: only when a parquet file is read
    import pyarrow.parquet as pq

    store, name = open_artifact(path)
    with store.open_read(name) as handle:
        try:
            parquet = pq.ParquetFile(handle)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{path}: not a parquet file ({exc})") from exc
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            yield from batch.to_pylist()


def _hub_rows(name: str, split: str) -> Iterator[Any]:
    """Rows of a Hugging Face dataset (the path users with internet take; CI has no hub access)."""
    if not HUB_DATASET_NAME.fullmatch(name) or is_dataset_file(name):
        raise InputError(f"{name!r} is neither a .json/.jsonl/.parquet file nor a Hugging Face dataset name")
    if os.path.lexists(name):
        # datasets.load_dataset would read a local folder of that name: a hub name must never mean a path.
        raise InputError(f"{name!r} is a local path, not a .json/.jsonl/.parquet file; give the file itself")
    import datasets  # heavy import: only when a hub dataset is asked for

    _leave_output_to_the_root_handlers(("datasets", "huggingface_hub"))
    try:
        dataset = datasets.load_dataset(name, split=split)
    except FileNotFoundError as exc:
        raise InputError(f"Hugging Face dataset {name!r} (split {split!r}) not found: {exc}") from exc
    except ValueError as exc:  # unknown split
        raise InputError(f"Hugging Face dataset {name!r}: {exc}") from exc
    except (ConnectionError, OSError) as exc:
        raise UnavailableError(f"cannot load Hugging Face dataset {name!r}: {exc}") from exc
    yield from dataset


def _leave_output_to_the_root_handlers(library_loggers: Iterable[str]) -> None:
    """Remove the stderr handler each of these libraries puts on its logger when imported.

    Their records also reach the handlers the entry point configured on the root logger, so each of
    their warnings (the hub's retries) was printed twice. Without root handlers (patchline used as a
    library with no logging set up) their own handlers stay: they are then the only output.
    """
    if not logging.getLogger().handlers:
        return
    for name in library_loggers:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:
                logger.removeHandler(handler)


def _numbered_swebench(
    source: str, split: str, policy: ErrorPolicy, on_error: ErrorSink | None
) -> tuple[str, Iterator[tuple[int, SWEbenchInstance]]]:
    """(where, numbered instances): ``where`` is the source as error messages name it."""
    lowered = source.lower()
    if lowered.endswith(".jsonl"):
        return source, _jsonl_models(source, SWEbenchInstance, policy, on_error)
    if lowered.endswith(".json"):
        where = f"{source}#record"
        rows: Iterable[Any] = _json_rows(source, split)
    elif lowered.endswith(".parquet"):
        where, rows = f"{source}#row", _parquet_rows(source)
    else:
        where, rows = f"{source}[{split}]#row", _hub_rows(source, split)
    records = _numbered(rows, where, policy, on_error)
    return where, iter_models(records, SWEbenchInstance, source=where, policy=policy, on_error=on_error)


def iter_swebench(
    source: str,
    *,
    split: str = "test",
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
) -> Iterator[SWEbenchInstance]:
    """Stream the instances of a local ``.json``/``.jsonl``/``.parquet`` file (or URI) or a hub dataset.

    ``.jsonl`` is read line by line and ``.parquet`` batch by batch; a ``.json`` file is a list of
    instances or an object holding one under ``split`` or ``data``. Any other ``source`` is a Hugging
    Face dataset name loaded with ``datasets.load_dataset(source, split=split)``. Bad records are
    reported through ``on_error`` (logged if None) and skipped, or raised with ``ErrorPolicy.FAIL``.
    """
    _, numbered = _numbered_swebench(source, split, policy, on_error)
    for _, instance in numbered:
        yield instance


def load_swebench_index(
    source: str,
    *,
    split: str = "test",
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
) -> dict[str, SWEbenchInstance]:
    """All instances by ``instance_id``, in file order; a repeated id is reported and the first one kept."""
    where, numbered = _numbered_swebench(source, split, policy, on_error)
    index: dict[str, SWEbenchInstance] = {}
    for number, instance in numbered:
        if instance.instance_id in index:
            error = RecordError(where, number, "instance_id", f"duplicate id {instance.instance_id!r}; first kept")
            report_bad_line(error, policy, on_error)
            continue
        index[instance.instance_id] = instance
    return index


def iter_selected(dataset: Dataset, *, on_error: ErrorSink | None = None) -> Iterator[SWEbenchInstance]:
    """The instances a run spec's ``dataset`` section selects: ``instances`` (if any), then at most ``limit``.

    An id in ``instances`` that the source does not hold is an InputError naming it (unless ``limit``
    cut the selection short, which makes a missing id indistinguishable from one left out).
    """
    wanted = set(dataset.instances)
    found: set[str] = set()
    for instance in iter_swebench(dataset.source, split=dataset.split, on_error=on_error):
        if wanted and instance.instance_id not in wanted:
            continue
        if dataset.limit is not None and len(found) >= dataset.limit:
            return
        found.add(instance.instance_id)
        yield instance
    missing = wanted - found
    if missing and dataset.limit is None:
        raise InputError(f"dataset.instances: not in {dataset.source}: {', '.join(sorted(missing))}")


def selected_index(dataset: Dataset, *, on_error: ErrorSink | None = None) -> dict[str, SWEbenchInstance]:
    """:func:`iter_selected` by ``instance_id`` (a repeated id keeps its first instance)."""
    index: dict[str, SWEbenchInstance] = {}
    for instance in iter_selected(dataset, on_error=on_error):
        index.setdefault(instance.instance_id, instance)
    return index


def iter_bench(
    path: str, *, policy: ErrorPolicy = ErrorPolicy.SKIP, on_error: ErrorSink | None = None
) -> Iterator[BenchLine]:
    """Stream the EditBench bench lines of a JSONL file (path or URI)."""
    for _, line in _jsonl_models(path, BenchLine, policy, on_error):
        yield line


def iter_infbench(
    path: str, *, policy: ErrorPolicy = ErrorPolicy.SKIP, on_error: ErrorSink | None = None
) -> Iterator[InfbenchLine]:
    """Stream the EditBench infbench lines (bench line + prompt, split, pre-edits, ground truth) of a JSONL file."""
    for _, line in _jsonl_models(path, InfbenchLine, policy, on_error):
        yield line
