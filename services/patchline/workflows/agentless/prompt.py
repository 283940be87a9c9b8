"""The repair prompt of one instance: its context (files and ranges) rendered into the prompt template.

``--batch_gen`` builds it to write requests; ``--process_batch`` builds it again to know which ranges
each answer may edit (and to keep the prompt in ``traj``), so both steps must use the same flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from patchline.core.datasets import SWEbenchInstance
from patchline.core.repos import RepoSnapshot
from patchline.core.spec import AgentlessStage
from patchline.workflows.agentless.context import ContextOptions, InstanceContext, build_context, render_context
from patchline.workflows.agentless.records import LocRecord
from patchline.workflows.agentless.sources import RepoSource
from patchline.workflows.templates import PromptTemplate, load_template

__all__ = [
    "TEMPLATE_PACKAGE",
    "PreparedInstance",
    "context_options",
    "open_instance_snapshot",
    "prepare_instance",
    "repair_template",
]

TEMPLATE_PACKAGE = "patchline.workflows.agentless"


@dataclass(frozen=True, slots=True)
class PreparedInstance:
    """The context of one instance and its prompt (empty when nothing could be shown)."""

    context: InstanceContext
    prompt: str


def repair_template(settings: AgentlessStage) -> PromptTemplate:
    """The template for ``--cot`` or not: the shipped one, or the user's ``--prompt-template`` (file or folder)."""
    name = "repair_cot_diff.txt" if settings.workflow.cot else "repair_diff.txt"
    return load_template(TEMPLATE_PACKAGE, name, override=settings.workflow.templates_dir)


def context_options(settings: AgentlessStage) -> ContextOptions:
    """The context flags of ``settings``."""
    return ContextOptions(
        top_n=settings.workflow.top_n or None,  # 0: every found file
        context_window=settings.workflow.context_window,
        loc_interval=settings.workflow.loc_interval,
        line_numbers=False,
        compat=settings.workflow.compat_newlines,
    )


def prepare_instance(
    loc: LocRecord,
    instance: SWEbenchInstance,
    snapshot: RepoSnapshot,
    settings: AgentlessStage,
    template: PromptTemplate,
) -> PreparedInstance:
    """Context and prompt of one instance (one user message; no system message)."""
    options = context_options(settings)
    context = build_context(loc, snapshot, options)
    if not context.usable:
        return PreparedInstance(context, "")
    prompt = template.render(
        problem_statement=instance.problem_statement,
        file_contents=render_context(context, line_numbers=options.line_numbers),
    ).strip()
    return PreparedInstance(context, prompt)


def open_instance_snapshot(settings: AgentlessStage, instance: SWEbenchInstance) -> RepoSnapshot:
    """The files of ``instance`` as the settings say (structure JSON or git at ``base_commit``)."""
    return RepoSource.of(settings).open(instance.instance_id, instance.repo, instance.base_commit)
