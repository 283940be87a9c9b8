"""Run specs: the ``InferenceRun`` and ``Rollout`` manifests (apiVersion ``patchline.dev/v1alpha1``), their status.

The same models are the local ``patchline run`` manifest, the gRPC services' parameters and the source of the
CRD schemas (``make crds``). Fields are snake_case in Python and camelCase in manifests.
"""

from __future__ import annotations

from patchline.core.spec.base import API_GROUP, API_VERSION, SpecModel, StatusModel
from patchline.core.spec.engine import (
    DEFAULT_SGLANG_IMAGE,
    SGLANG_VERSION,
    EndpointEngine,
    Engine,
    HfCacheVolume,
    HostPathVolume,
    ModelVolume,
    OracleEngine,
    PvcVolume,
    SGLangEngine,
)
from patchline.core.spec.executor import (
    DEFAULT_MISMATCH_POLICY,
    EngineFlavor,
    ExecutorSettings,
    MismatchPolicy,
    ModelEndpoints,
    Price,
    ThinkingProcessor,
)
from patchline.core.spec.kube import ResourceList, Resources, SecretKeyRef, Toleration
from patchline.core.spec.loader import KINDS, Manifest, load_manifest, parse_manifest
from patchline.core.spec.manifest import (
    Dataset,
    InferenceRun,
    InferenceRunSpec,
    Metadata,
    Repositories,
    Rollout,
    RolloutSpec,
    Sampling,
    resolve_uri,
)
from patchline.core.spec.queries import SearchQuery
from patchline.core.spec.stages import (
    STAGE_KINDS,
    AgentlessStage,
    EditBenchStage,
    IndexManyStage,
    InferenceStage,
    RolloutStage,
    RolloutStep,
    Snapshot,
    StageSettings,
)
from patchline.core.spec.status import (
    Condition,
    ConditionType,
    InferenceRunStatus,
    Phase,
    ProgressCounts,
    RolloutStatus,
    StageStatus,
)
from patchline.core.spec.workflow import (
    FIRST_NONEMPTY,
    AgentlessWorkflow,
    EditBenchWorkflow,
    RolloutWorkflow,
    Workflow,
    WorkflowType,
)

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "DEFAULT_MISMATCH_POLICY",
    "DEFAULT_SGLANG_IMAGE",
    "FIRST_NONEMPTY",
    "KINDS",
    "SGLANG_VERSION",
    "STAGE_KINDS",
    "AgentlessStage",
    "AgentlessWorkflow",
    "Condition",
    "ConditionType",
    "Dataset",
    "EditBenchStage",
    "EditBenchWorkflow",
    "EndpointEngine",
    "Engine",
    "EngineFlavor",
    "ExecutorSettings",
    "HfCacheVolume",
    "HostPathVolume",
    "IndexManyStage",
    "InferenceRun",
    "InferenceRunSpec",
    "InferenceRunStatus",
    "InferenceStage",
    "Manifest",
    "Metadata",
    "MismatchPolicy",
    "ModelEndpoints",
    "ModelVolume",
    "OracleEngine",
    "Phase",
    "Price",
    "ProgressCounts",
    "PvcVolume",
    "Repositories",
    "ResourceList",
    "Resources",
    "Rollout",
    "RolloutSpec",
    "RolloutStage",
    "RolloutStatus",
    "RolloutStep",
    "RolloutWorkflow",
    "SGLangEngine",
    "Sampling",
    "SearchQuery",
    "SecretKeyRef",
    "Snapshot",
    "SpecModel",
    "StageSettings",
    "StageStatus",
    "StatusModel",
    "ThinkingProcessor",
    "Toleration",
    "Workflow",
    "WorkflowType",
    "load_manifest",
    "parse_manifest",
    "resolve_uri",
]
