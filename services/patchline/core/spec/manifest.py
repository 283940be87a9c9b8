"""The two run kinds, ``InferenceRun`` and ``Rollout``: one model serves the local manifest and the CRD."""

from __future__ import annotations

import posixpath
import re
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from patchline.core.spec.access import DatasetSource, ReadUri
from patchline.core.spec.base import SpecModel
from patchline.core.spec.engine import Engine
from patchline.core.spec.executor import ExecutorSettings, OnMismatch
from patchline.core.spec.kube import DNS_SUBDOMAIN
from patchline.core.spec.status import InferenceRunStatus, RolloutStatus
from patchline.core.spec.workflow import Workflow

__all__ = [
    "Dataset",
    "InferenceRun",
    "InferenceRunSpec",
    "Metadata",
    "Repositories",
    "Rollout",
    "RolloutSpec",
    "Sampling",
    "is_dataset_file",
    "resolve_uri",
]

DATASET_FILE_SUFFIXES = (".json", ".jsonl", ".parquet")
HUB_DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
"""A Hugging Face dataset name: ``name`` or ``owner/name``."""


RunSpecT = TypeVar("RunSpecT", bound=SpecModel)
RunStatusT = TypeVar("RunStatusT", bound=BaseModel)


def is_dataset_file(source: str) -> bool:
    """True when a dataset source names a file (by its ending); anything else is a Hugging Face name."""
    return source.lower().endswith(DATASET_FILE_SUFFIXES)


class Metadata(BaseModel):
    """The part of Kubernetes object metadata a run uses; the rest (uid, resourceVersion, ...) is ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    name: str = Field(pattern=DNS_SUBDOMAIN, max_length=253, description="Name of the run (a DNS subdomain).")
    namespace: str | None = Field(default=None, description="Namespace; default: the current one.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels, copied to the objects the run makes.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")


class Dataset(SpecModel):
    """Which task instances a Rollout works on."""

    source: DatasetSource = Field(
        min_length=1, description="Hugging Face dataset name, or a .json/.jsonl/.parquet file path or URI."
    )
    split: str = Field(default="test", min_length=1, description="Dataset split (hub datasets).")
    instances: list[str] = Field(default_factory=list, description="Only these instance ids; empty: all.")
    limit: int | None = Field(default=None, ge=1, description="At most this many instances (after the filter).")

    def missing_reason(self, instance_id: str) -> str:
        """Why ``instance_id`` is not among the selected instances: ``not_selected`` when ``instances`` leaves
        it out or ``limit`` may have cut it, else ``not_in_dataset`` (the source does not hold it)."""
        left_out = bool(self.instances) and instance_id not in self.instances
        return "not_selected" if left_out or self.limit is not None else "not_in_dataset"


class Repositories(SpecModel):
    """Where the code of each instance comes from (one of them is enough for a workflow that needs code)."""

    structure_dir: ReadUri | None = Field(
        default=None, description="Folder of Agentless structure files `{instance_id}.json` (PROJECT_FILE_LOC)."
    )
    repo_root: ReadUri | None = Field(
        default=None,
        description="A git repository, or a folder of local clones named `owner__name`, read at base_commit.",
    )

    @property
    def has_code(self) -> bool:
        """True when either source of repository code is set."""
        return bool(self.structure_dir or self.repo_root)


class Sampling(SpecModel):
    """How the model samples; written into each request body."""

    temperature: float = Field(
        default=1.0, ge=0.0, le=2.0, description="Sampling temperature (sample 0 of Agentless is greedy)."
    )
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    max_tokens: int = Field(default=8192, ge=1, description="Completion tokens per request.")
    samples: int = Field(
        default=1,
        ge=1,
        le=1024,
        description="Samples per instance: Agentless max_samples, rollout passk, EditBench n.",
    )
    enable_thinking: bool = Field(default=False, description="Ask a reasoning model to think first.")
    thinking_budget: int | None = Field(default=None, ge=1, description="Upper bound of thinking tokens.")


def resolve_uri(uri: str, base: str) -> str:
    """``uri`` as given when it is absolute (``s3://...``, ``/...``), else joined below ``base``."""
    if "://" in uri or uri.startswith("/"):
        return uri
    return posixpath.join(base.rstrip("/") or "/", posixpath.normpath(uri))


class InferenceRunSpec(SpecModel):
    """One inference: a requests file in, a responses file out, through one engine."""

    engine: Engine = Field(description="What answers the requests: sglang, llamacpp, endpoint or oracle.")
    input: str = Field(min_length=1, description="Requests file (OpenAI batch lines): a path or URI.")
    output: str = Field(min_length=1, description="Responses file: a path or URI; an existing one is resumed.")
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings, description="How requests are sent.")
    on_mismatch: OnMismatch


class RolloutSpec(SpecModel):
    """A whole workflow over a dataset: its stages run in order, artifacts below the output URI."""

    engine: Engine = Field(description="What answers the requests: sglang, llamacpp, endpoint or oracle.")
    dataset: Dataset = Field(description="Task instances to work on.")
    repositories: Repositories = Field(default_factory=Repositories, description="Where repository code comes from.")
    workflow: Workflow = Field(description="The workflow and its parameters.")
    sampling: Sampling | None = Field(
        default=None,
        description="How the model samples; unset: Sampling's defaults (EditBench: the seed's per-model table).",
    )
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings, description="How requests are sent.")
    on_mismatch: OnMismatch
    output: str | None = Field(
        default=None,
        description="Run root URI (`s3://bucket/runs/x` or a folder); relative: below the platform's store. "
        "Default: `runs/{metadata.name}`.",
    )


class _RunResource(SpecModel, Generic[RunSpecT, RunStatusT]):
    """The Kubernetes object both run kinds are: API version, kind and metadata around their spec and status."""

    api_version: Literal["patchline.dev/v1alpha1"] = Field(default="patchline.dev/v1alpha1", description="API version.")
    kind: str = Field(description="Resource kind.")
    metadata: Metadata = Field(description="Name, namespace and labels.")
    spec: RunSpecT = Field(description="What to run.")
    status: RunStatusT | None = Field(default=None, description="Reported by the operator.")


class InferenceRun(_RunResource[InferenceRunSpec, InferenceRunStatus]):
    """A run of one inference stage (``kind: InferenceRun``)."""

    kind: Literal["InferenceRun"] = Field(default="InferenceRun", description="Resource kind.")

    def output_uri(self, base: str) -> str:
        """The responses file's URI, a relative ``spec.output`` resolved below ``base``."""
        return resolve_uri(self.spec.output, base)


class Rollout(_RunResource[RolloutSpec, RolloutStatus]):
    """A workflow run (``kind: Rollout``)."""

    kind: Literal["Rollout"] = Field(default="Rollout", description="Resource kind.")

    def output_uri(self, base: str) -> str:
        """The run root URI: ``spec.output`` (default ``runs/{name}``), resolved below ``base`` when relative."""
        return resolve_uri(self.spec.output or f"runs/{self.metadata.name}", base)
