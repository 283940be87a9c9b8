"""EditBench: infbench prompts from bench histories, inference through the gateway, merged results."""

from __future__ import annotations

from patchline.workflows.editbench.context import BM25Retriever, Retriever
from patchline.workflows.editbench.merge import (
    ExistingMerged,
    MergeOutput,
    merge_infbench,
    merge_results,
    repo_of_instance,
)
from patchline.workflows.editbench.models import DEFAULT_CONFIG, MODEL_CONFIGS, ModelConfig, model_config
from patchline.workflows.editbench.overflow import is_context_overflow
from patchline.workflows.editbench.prompt import PromptTemplates, render_prompt, shrink_code_context
from patchline.workflows.editbench.prompt_builder import (
    BuildSummary,
    build_infbench,
    build_instance,
    compat_save_path,
)
from patchline.workflows.editbench.records import failure_record, read_results, success_record
from patchline.workflows.editbench.requirement import clean_text, requirement_text
from patchline.workflows.editbench.run import (
    CONTEXT_EXCEEDED,
    EditBenchRun,
    RoundReport,
    effective_config,
    load_sampled_ids,
)
from patchline.workflows.editbench.split import HistorySplit, StepApplyError, split_history, split_index

__all__ = [
    "CONTEXT_EXCEEDED",
    "DEFAULT_CONFIG",
    "MODEL_CONFIGS",
    "BM25Retriever",
    "BuildSummary",
    "EditBenchRun",
    "ExistingMerged",
    "HistorySplit",
    "MergeOutput",
    "ModelConfig",
    "PromptTemplates",
    "Retriever",
    "RoundReport",
    "StepApplyError",
    "build_infbench",
    "build_instance",
    "clean_text",
    "compat_save_path",
    "effective_config",
    "failure_record",
    "is_context_overflow",
    "load_sampled_ids",
    "merge_infbench",
    "merge_results",
    "model_config",
    "read_results",
    "render_prompt",
    "repo_of_instance",
    "requirement_text",
    "shrink_code_context",
    "split_history",
    "split_index",
    "success_record",
]
