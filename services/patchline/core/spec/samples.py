"""How a workflow turns the samples of an instance into one prediction: the ``selection`` block of its section.

One model, :class:`Selection`, is a field of every workflow section (``AgentlessWorkflow``,
``RolloutWorkflow``, ``EditBenchWorkflow``), so the manifest, the CRDs, the stage messages and the CLI flags
all carry the same block. The strategy names are the registry of ``patchline.samples.selection``; a name
of the form ``module:function`` is a user's own function, imported by name where the stage runs in the
user's own process (never on the services: a gRPC caller does not get to name code to import).
"""

from __future__ import annotations

from pydantic import Field

from patchline.core.spec.base import SpecModel

__all__ = [
    "AGENTLESS_MAJORITY",
    "BUILTIN_STRATEGIES",
    "FIRST_NONEMPTY",
    "FIRST_VALID",
    "MAX_RESAMPLE_ROUNDS",
    "Selection",
    "is_hook",
]

AGENTLESS_MAJORITY = "agentless-majority"
"""The original Agentless rule (SPEC §6b): majority over the samples' normalised patches, ties to the earliest."""

FIRST_VALID = "first-valid"
"""The lowest sample index whose patch is valid (applies at the base commit, edited Python files parse)."""

FIRST_NONEMPTY = "first-nonempty"
"""The lowest sample index with a non-empty patch (what predictions were before samples were a dimension)."""

BUILTIN_STRATEGIES = (AGENTLESS_MAJORITY, FIRST_VALID, FIRST_NONEMPTY)

MAX_RESAMPLE_ROUNDS = 20

_STRATEGY = r"^(agentless-majority|first-valid|first-nonempty|[0-9]+|[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*)$"


def is_hook(strategy: str) -> bool:
    """True for a user's own function (``module:function``)."""
    return ":" in strategy


class Selection(SpecModel):
    """Which sample becomes an instance's prediction, and whether instances without a valid sample are resampled."""

    strategy: str | None = Field(
        default=None,
        pattern=_STRATEGY,
        description="agentless-majority, first-valid, first-nonempty, a sample index, or a `module:function` hook; "
        "unset: the workflow's default (Agentless agentless-majority, rollouts and EditBench first-nonempty).",
    )
    plausible: bool = Field(
        default=False, description="agentless-majority votes only over valid samples (the original's --plausible)."
    )
    resample_invalid: int = Field(
        default=0,
        ge=0,
        le=MAX_RESAMPLE_ROUNDS,
        description="Rounds of new samples (same prompt) for instances without a valid sample (Agentless).",
    )
    resample_samples: int = Field(default=1, ge=1, le=64, description="New samples per instance and round.")
    resample_token_budget: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Tokens (prompt + completion) all resample rounds may use; unset: no limit.",
    )
