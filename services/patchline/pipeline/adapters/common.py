"""Pieces the workflow adapters share: the run's dataset selection and the model parameters of a stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from patchline.core.datasets import iter_swebench
from patchline.core.errors import InputError
from patchline.core.jsonl import dumps_line
from patchline.core.settings import api_keys_from_env
from patchline.core.spec import Rollout
from patchline.core.store import ArtifactStore
from patchline.pipeline.operations import OperationParams

__all__ = ["ModelParams", "SelectionParams", "dataset_params", "model_secrets", "selected_dataset"]

SELECTED_DATASET = "inputs/dataset.jsonl"


class ModelParams(OperationParams):
    """What the runner adds to a stage that talks to the model."""

    endpoints: list[str] = []
    model: str | None = None
    api_key_env: str | None = None


def model_secrets(params: Mapping[str, Any]) -> tuple[SecretStr, ...]:
    """The API keys a model stage's ``api_key_env`` names (for redaction from its job's status)."""
    variable = params.get("api_key_env")
    return api_keys_from_env(variable=variable if isinstance(variable, str) and variable else None).keys


class SelectionParams(OperationParams):
    """The dataset of a Rollout and the instances it is restricted to."""

    dataset: str
    split: str = "test"
    instances: list[str] = []
    limit: int | None = None


def dataset_params(rollout: Rollout) -> dict[str, object]:
    """The dataset part of a stage's parameters, from the spec."""
    dataset = rollout.spec.dataset
    return {
        "dataset": dataset.source,
        "split": dataset.split,
        "instances": list(dataset.instances),
        "limit": dataset.limit,
    }


def selected_dataset(run: ArtifactStore, params: SelectionParams) -> str:
    """The dataset a stage reads: the source itself, or (with a selection) a JSONL copy of the chosen instances.

    The copy is written once into the run root and reused, so every stage sees the same instances.
    """
    if not params.instances and params.limit is None:
        return params.dataset
    if not run.exists(SELECTED_DATASET):
        wanted = set(params.instances)
        chosen = [i for i in iter_swebench(params.dataset, split=params.split) if not wanted or i.instance_id in wanted]
        if params.limit is not None:
            chosen = chosen[: params.limit]
        missing = wanted - {i.instance_id for i in chosen}
        if missing and params.limit is None:
            raise InputError(f"spec.dataset.instances: not in {params.dataset}: {', '.join(sorted(missing))}")
        with run.atomic_writer(SELECTED_DATASET) as out:
            for instance in chosen:
                out.write(dumps_line(instance.model_dump(mode="json")))
    return run.uri(SELECTED_DATASET)
