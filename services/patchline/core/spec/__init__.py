"""Run specs: the ``InferenceRun`` and ``Rollout`` manifests (apiVersion ``patchline.dev/v1alpha1``), their status.

The same models are the local ``patchline run`` manifest, the gRPC services' parameters and the source of the
CRD schemas (``make crds``). Fields are snake_case in Python and camelCase in manifests.
"""

from __future__ import annotations

from patchline.core.spec.base import API_GROUP, API_VERSION, SpecModel, StatusModel
from patchline.core.spec.engine import (
    DEFAULT_LLAMACPP_IMAGE,
    DEFAULT_LLAMACPP_MODEL_NAME,
    DEFAULT_SGLANG_IMAGE,
    SGLANG_VERSION,
    EndpointEngine,
    Engine,
    HfCacheVolume,
    HostPathVolume,
    LlamaCppEngine,
    ModelVolume,
    OracleEngine,
    PvcVolume,
    ServedEngine,
    SGLangEngine,
)
from patchline.core.spec.kube import ResourceList, Resources, SecretKeyRef, Toleration
from patchline.core.spec.loader import KINDS, Manifest, load_manifest, parse_manifest
from patchline.core.spec.manifest import (
    Dataset,
    ExecutorSpec,
    InferenceRun,
    InferenceRunSpec,
    Metadata,
    Repositories,
    Rollout,
    RolloutSpec,
    Sampling,
    resolve_uri,
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
    INFERENCE_STAGES,
    AgentlessWorkflow,
    BugFixerWorkflow,
    EditBenchWorkflow,
    TestWriterWorkflow,
    Workflow,
    WorkflowType,
    is_inference_stage,
    stage_names,
)

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "DEFAULT_LLAMACPP_IMAGE",
    "DEFAULT_LLAMACPP_MODEL_NAME",
    "DEFAULT_SGLANG_IMAGE",
    "INFERENCE_STAGES",
    "KINDS",
    "SGLANG_VERSION",
    "AgentlessWorkflow",
    "BugFixerWorkflow",
    "Condition",
    "ConditionType",
    "Dataset",
    "EditBenchWorkflow",
    "EndpointEngine",
    "Engine",
    "ExecutorSpec",
    "HfCacheVolume",
    "HostPathVolume",
    "InferenceRun",
    "InferenceRunSpec",
    "InferenceRunStatus",
    "LlamaCppEngine",
    "Manifest",
    "Metadata",
    "ModelVolume",
    "OracleEngine",
    "Phase",
    "ProgressCounts",
    "PvcVolume",
    "Repositories",
    "ResourceList",
    "Resources",
    "Rollout",
    "RolloutSpec",
    "RolloutStatus",
    "SGLangEngine",
    "Sampling",
    "SecretKeyRef",
    "ServedEngine",
    "SpecModel",
    "StageStatus",
    "StatusModel",
    "TestWriterWorkflow",
    "Toleration",
    "Workflow",
    "WorkflowType",
    "is_inference_stage",
    "load_manifest",
    "parse_manifest",
    "resolve_uri",
    "stage_names",
]
