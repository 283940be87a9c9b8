"""``patchline rollout bugfixer|testwriter``: the seed's three-stage batch rollouts.

The stage is given as ``--stage X`` (as the seed README writes it) or positionally (as the original
code parses it): ``gen_step1``, ``proc_step1_gen_step2``, ``proc_step2``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from patchline.cli.parser import add_mismatch_arguments, mismatch_policy
from patchline.cli.progress import cli_progress
from patchline.core.errors import InputError
from patchline.workflows.rollout import KINDS, STAGES, RolloutConfig, run_stage

__all__ = ["register"]

_HELP = {
    "bugfixer": "file localisation, then SEARCH/REPLACE fixes, then patches (seed batch_rollout_bugfixer.py)",
    "testwriter": "file localisation, then reproduction tests, then reproduce_bug.py patches (seed testwriter)",
}


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage_positional", nargs="?", choices=STAGES, metavar="STAGE", help="stage (positional form)")
    parser.add_argument("--stage", choices=STAGES, default=None, help="stage: " + ", ".join(STAGES))
    parser.add_argument("--dataset", default="princeton-nlp/SWE-bench_Verified", help="HF dataset name or local file")
    parser.add_argument("--split", default="test", help="dataset split (default test)")
    parser.add_argument("--repostructure_dir", default=None, help="folder (or URI) of {instance_id}.json structures")
    parser.add_argument("--repo", default=None, help="git repository (or folder of them) read at base_commit")
    parser.add_argument("--input_file", default=None, help="stage 2: step-1 output; stage 3: step-2 output")
    parser.add_argument("--output_file", default=None, help="stages 1 and 2: the request file to write")
    parser.add_argument("--save_dir", default=None, help="stage 3 outputs; failures.jsonl (default: beside output)")
    parser.add_argument("--step1_file", default=None, help="TestWriter stage 3: the step-1 output")
    parser.add_argument("--model_name", default="deepseek-ai/DeepSeek-R1", help="body.model of the requests")
    parser.add_argument("--max_tokens", type=int, default=32768, help="body.max_tokens")
    parser.add_argument("--temp", type=float, default=1.0, help="sampling temperature")
    parser.add_argument("--passk", type=int, default=None, help="passes per instance (stage 1 default 1)")
    parser.add_argument("--num_workers", type=int, default=1, help="worker processes for the heavy stages")
    parser.add_argument("--start_file", default=None, help="first custom_id (or sorted position) to process")
    parser.add_argument("--end_file", default=None, help="custom_id (or position) to stop before")
    parser.add_argument("--enable_thinking", action="store_true", help="ask thinking models to reason")
    parser.add_argument("--thinking_budget", type=int, default=None, help="reasoning token budget")
    parser.add_argument("--convert_crlf", action="store_true", help="turn CRLF into LF in the issue text")
    parser.add_argument("--prompt-template", dest="prompt_template", default=None, help="template file or folder")
    parser.add_argument("--item-timeout", dest="item_timeout", type=float, default=60.0, help="seconds per item")


def _config(kind: str, args: argparse.Namespace) -> RolloutConfig:
    return RolloutConfig(
        kind=kind,
        dataset=args.dataset,
        split=args.split,
        structure_dir=args.repostructure_dir,
        repo=args.repo,
        input_file=args.input_file,
        output_file=args.output_file,
        save_dir=args.save_dir,
        step1_file=args.step1_file,
        model_name=args.model_name,
        temperature=args.temp,
        max_tokens=args.max_tokens,
        passk=args.passk,
        num_workers=args.num_workers,
        start_file=args.start_file,
        end_file=args.end_file,
        enable_thinking=args.enable_thinking,
        thinking_budget=args.thinking_budget,
        convert_crlf=args.convert_crlf,
        prompt_template=args.prompt_template,
        item_timeout=args.item_timeout,
    )


def _handler(kind: str) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        """Run one stage and print what it wrote."""
        stages = {s for s in (args.stage, args.stage_positional) if s}
        if len(stages) != 1:
            raise InputError(f"give the stage once, as --stage or positionally ({', '.join(STAGES)})")
        config = _config(kind, args)
        stage = stages.pop()
        with cli_progress() as progress:
            summary = run_stage(config, stage, progress=progress, on_mismatch=mismatch_policy(args))
        print(summary.describe())
        failure = summary.nothing_done(args.dataset if stage == "gen_step1" else args.input_file)
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
