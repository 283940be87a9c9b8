"""The ``selection`` block's flags, the same on every workflow command (``workflow.selection.*`` of its stage)."""

from __future__ import annotations

import argparse
from typing import Any

from patchline.cli.flags import ModelFlags
from patchline.core.spec import BUILTIN_STRATEGIES

__all__ = ["add_selection_flags"]


def add_selection_flags(flags: ModelFlags[Any], parser: argparse.ArgumentParser, *, resampling: bool) -> None:
    """``--selection`` (alias ``--predictions-sample``) and ``--plausible``; with ``resampling`` the resample flags."""
    flags.add(
        parser,
        "--selection",
        "--predictions-sample",
        field="workflow.selection.strategy",
        metavar="STRATEGY",
        help=f"which sample becomes the prediction (selection.jsonl says why): {', '.join(BUILTIN_STRATEGIES)}, a "
        "sample index, or module:function (your own, run in this process); default: the workflow's",
    )
    flags.add(parser, "--plausible", field="workflow.selection.plausible", help="majority vote over valid samples only")
    if not resampling:
        return
    flags.add(
        parser,
        "--resample_invalid",
        field="workflow.selection.resample_invalid",
        metavar="N",
        help="up to N rounds of new samples for instances without a valid one (--process_batch writes the requests)",
    )
    flags.add(
        parser,
        "--resample_samples",
        field="workflow.selection.resample_samples",
        metavar="K",
        help="new samples per instance and round",
    )
    flags.add(
        parser,
        "--resample_token_budget",
        field="workflow.selection.resample_token_budget",
        metavar="TOKENS",
        help="tokens all resample rounds may use",
    )
