"""The oracle: an OpenAI-compatible server answering chat completions from a dataset's gold data."""

from __future__ import annotations

from patchline.oracle.answers import UnplaceablePromptError, compose_answer, diff_files, split_diff
from patchline.oracle.gold import GoldIndex, GoldInstance, load_gold, normalise_text
from patchline.oracle.repos import BaseFiles
from patchline.oracle.server import OracleServer, ReasoningMode, build_app, chat_completion, serve_oracle

__all__ = [
    "BaseFiles",
    "GoldIndex",
    "GoldInstance",
    "OracleServer",
    "ReasoningMode",
    "UnplaceablePromptError",
    "build_app",
    "chat_completion",
    "compose_answer",
    "diff_files",
    "load_gold",
    "normalise_text",
    "serve_oracle",
    "split_diff",
]
