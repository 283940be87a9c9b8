"""Every stage operation by name, with the service that hosts it and the settings model it takes: declared once.

Planners (``patchline.pipeline.plan``) put these in their stages, the adapters (``patchline.pipeline.adapters``)
implement them, and each service hosts the operations that name it. The module imports only the settings
models, so the operator can plan without loading a workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeGuard, TypeVar

from patchline.core.spec import (
    AgentlessStage,
    EditBenchStage,
    IndexManyStage,
    InferenceStage,
    RolloutStage,
    SpecModel,
)

__all__ = [
    "AGENTLESS_BUILD_REQUESTS",
    "AGENTLESS_PROCESS",
    "EDITBENCH_BUILD_PROMPTS",
    "EDITBENCH_COLLECT",
    "EDITBENCH_MERGE",
    "EDITBENCH_PREPARE",
    "GATEWAY_EXECUTE",
    "RETRIEVAL_INDEX_MANY",
    "ROLLOUT_GEN_STEP1",
    "ROLLOUT_PROC_STEP1_GEN_STEP2",
    "ROLLOUT_PROC_STEP2",
    "OperationRef",
]

S = TypeVar("S", bound=SpecModel)


@dataclass(frozen=True)
class OperationRef(Generic[S]):
    """An operation as a plan names it: its name, the service hosting it, the type of its stage settings."""

    name: str
    service: str
    settings: type[S]

    def accepts(self, settings: Any) -> TypeGuard[S]:
        """Whether ``settings`` are this operation's kind."""
        return isinstance(settings, self.settings)


AGENTLESS_BUILD_REQUESTS = OperationRef("agentless.build_requests", "prompts", AgentlessStage)
AGENTLESS_PROCESS = OperationRef("agentless.process", "patches", AgentlessStage)

ROLLOUT_GEN_STEP1 = OperationRef("rollout.gen_step1", "prompts", RolloutStage)
ROLLOUT_PROC_STEP1_GEN_STEP2 = OperationRef("rollout.proc_step1_gen_step2", "prompts", RolloutStage)
ROLLOUT_PROC_STEP2 = OperationRef("rollout.proc_step2", "patches", RolloutStage)

EDITBENCH_BUILD_PROMPTS = OperationRef("editbench.build_prompts", "prompts", EditBenchStage)
EDITBENCH_PREPARE = OperationRef("editbench.prepare", "prompts", EditBenchStage)
EDITBENCH_COLLECT = OperationRef("editbench.collect", "patches", EditBenchStage)
EDITBENCH_MERGE = OperationRef("editbench.merge", "patches", EditBenchStage)

GATEWAY_EXECUTE = OperationRef("gateway.execute", "gateway", InferenceStage)
RETRIEVAL_INDEX_MANY = OperationRef("retrieval.index_many", "retrieval", IndexManyStage)
