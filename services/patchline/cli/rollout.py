"""``patchline rollout bugfixer|testwriter``: the seed's three-stage batch rollouts.

The stage is given as ``--stage X`` (as the seed README writes it) or positionally (as the original
code parses it): ``gen_step1``, ``proc_step1_gen_step2``, ``proc_step2``. The flags fill
:class:`~patchline.core.spec.RolloutStage` (``patchline.cli.flags``): every default is the model's.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from patchline.cli.flags import ModelFlags
from patchline.cli.parser import add_mismatch_arguments, mismatch_policy
from patchline.cli.progress import cli_progress
from patchline.cli.selection import add_selection_flags
from patchline.core.errors import InputError
from patchline.core.spec import RolloutStage
from patchline.workflows.rollout import KINDS, STAGES, run_stage

__all__ = ["register"]

FLAGS = ModelFlags(RolloutStage)

_HELP = {
    "bugfixer": "file localisation, then SEARCH/REPLACE fixes, then patches (seed batch_rollout_bugfixer.py)",
    "testwriter": "file localisation, then reproduction tests, then reproduce_bug.py patches (seed testwriter)",
}


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage_positional", nargs="?", choices=STAGES, metavar="STAGE", help="stage (positional form)")
    parser.add_argument("--stage", choices=STAGES, default=None, help="stage: " + ", ".join(STAGES))
    flag = FLAGS.add
    flag(parser, "--dataset", field="dataset.source", help="HF dataset name or local file")
    flag(parser, "--split", field="dataset.split", help="dataset split")
    flag(parser, "--repostructure_dir", field="repositories.structure_dir", help="folder of {instance_id}.json")
    flag(parser, "--repo", field="repositories.repo_root", help="git repository (or folder of them) at base_commit")
    flag(parser, "--input_file", field="input_file", help="stage 2: step-1 output; stage 3: step-2 output")
    flag(parser, "--output_file", field="output_file", help="stages 1 and 2: the request file to write")
    flag(parser, "--save_dir", field="save_dir", help="stage 3 outputs; failures.jsonl (default: beside output)")
    flag(parser, "--step1_file", field="step1_file", help="TestWriter stage 3: the step-1 output")
    flag(parser, "--model_name", field="model", help="body.model of the requests")
    flag(parser, "--max_tokens", field="sampling.max_tokens", help="body.max_tokens")
    flag(parser, "--temp", field="sampling.temperature", help="sampling temperature")
    flag(parser, "--top_p", field="sampling.top_p", help="body.top_p")
    flag(parser, "--passk", field="sampling.samples", help="passes per instance")
    flag(parser, "--num_workers", field="workflow.num_workers", help="worker processes for the heavy stages")
    flag(parser, "--start_file", field="workflow.start_file", help="first custom_id (or sorted position) to process")
    flag(parser, "--end_file", field="workflow.end_file", help="custom_id (or position) to stop before")
    flag(parser, "--enable_thinking", field="sampling.enable_thinking", help="ask thinking models to reason")
    flag(parser, "--thinking_budget", field="sampling.thinking_budget", help="reasoning token budget")
    flag(parser, "--convert_crlf", field="workflow.convert_crlf", help="turn CRLF into LF in the issue text")
    flag(parser, "--prompt-template", field="workflow.templates_dir", help="template file or folder")
    flag(parser, "--item-timeout", field="workflow.item_timeout_seconds", help="seconds per item")
    add_selection_flags(FLAGS, parser, resampling=False)


def _handler(kind: str) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        """Run one stage and print what it wrote."""
        stages = {s for s in (args.stage, args.stage_positional) if s}
        if len(stages) != 1:
            raise InputError(f"give the stage once, as --stage or positionally ({', '.join(STAGES)})")
        settings = FLAGS.build(args, workflow={"type": kind}, on_mismatch=mismatch_policy(args))
        stage = stages.pop()
        with cli_progress() as progress:
            summary = run_stage(settings, stage, progress=progress, hooks=True)
        print(summary.describe())
        failure = summary.nothing_done(settings.dataset.source if stage == "gen_step1" else settings.input_file or "")
        if failure is not None:
            raise failure
        return 0

    return handle


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``bugfixer`` and ``testwriter`` below ``patchline rollout``."""
    commands = parser.add_subparsers(dest="rollout", metavar="ROLLOUT", required=True)
    for kind in KINDS:
        sub = commands.add_parser(kind, help=_HELP[kind], description=_HELP[kind])
        _add_arguments(sub)
        add_mismatch_arguments(sub, what="the request file (stages 1 and 2)", existing="lines or answers")
        sub.set_defaults(handler=_handler(kind))
