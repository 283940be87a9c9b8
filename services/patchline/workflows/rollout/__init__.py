"""BugFixer and TestWriter three-stage batch rollouts (SPEC.md §4).

Stage 1 (``gen_step1``) writes file-localisation requests, stage 2 (``proc_step1_gen_step2``) turns
their answers into fix or reproduction-test requests, stage 3 (``proc_step2``) turns those answers into
patches, tests and aggregate files. Any executor runs the request files between stages.
"""

from patchline.workflows.rollout.common import StageSummary
from patchline.workflows.rollout.config import KINDS, STAGES, IdRange
from patchline.workflows.rollout.records import (
    BugFixerSample,
    FailureReason,
    FailureRecord,
    ProcessedPatch,
    ProcessedTest,
    TestWriterSample,
)
from patchline.workflows.rollout.repofiles import LazyStructure, RepoFiles, SnapshotFiles, resolve_found_files
from patchline.workflows.rollout.reproduce import absolutize_imports, make_reproduce_script, new_file_patch
from patchline.workflows.rollout.stages import STAGE_RUNNERS, run_stage
from patchline.workflows.rollout.tree import render_structure_tree, render_tree

__all__ = [
    "KINDS",
    "STAGES",
    "STAGE_RUNNERS",
    "BugFixerSample",
    "FailureReason",
    "FailureRecord",
    "IdRange",
    "LazyStructure",
    "ProcessedPatch",
    "ProcessedTest",
    "RepoFiles",
    "SnapshotFiles",
    "StageSummary",
    "TestWriterSample",
    "absolutize_imports",
    "make_reproduce_script",
    "new_file_patch",
    "render_structure_tree",
    "render_tree",
    "resolve_found_files",
    "run_stage",
]
