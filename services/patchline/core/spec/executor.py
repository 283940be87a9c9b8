"""How requests are sent (the executor's settings) and where they go (the model's endpoints).

:class:`ExecutorSettings` is the manifest's ``spec.executor`` section, the executor's settings object, the
``executor`` part of an inference stage on the wire and what the ``patchline infer`` flags build: one
definition, one default per field. :class:`ModelEndpoints` is filled in by whoever starts or finds the
model (the stage driver, an operator, a CLI flag), never written in a manifest's executor section.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from patchline.core.spec.access import Access, KeySetName
from patchline.core.spec.base import SpecModel
from patchline.core.spec.identity import HOW_IT_RUNS

__all__ = [
    "DEFAULT_MISMATCH_POLICY",
    "EngineFlavor",
    "ExecutorSettings",
    "HttpUrls",
    "MismatchPolicy",
    "ModelEndpoints",
    "OnMismatch",
    "Price",
    "ThinkingProcessor",
]


class EngineFlavor(enum.StrEnum):
    """What kind of server answers; decides which engine-specific body keys the executor adds."""

    OPENAI = "openai"  # any OpenAI-compatible endpoint: the body is sent as written
    SGLANG = "sglang"  # SGLang: thinking keys are mapped to what SGLang honours (patchline.gateway.thinking)
    LLAMACPP = "llamacpp"  # llama.cpp's server: the body is sent as written


class ThinkingProcessor(enum.StrEnum):
    """SGLang's built-in thinking-budget logit processors (server needs ``--enable-custom-logit-processor``)."""

    QWEN3 = "qwen3"
    DEEPSEEK_R1 = "deepseek-r1"


class MismatchPolicy(enum.StrEnum):
    """What a rerun does with lines already in its output that were made for other requests (another run's,
    or with other settings): see ``patchline.core.fingerprint``."""

    REFUSE = "refuse"  # stop before doing anything, naming the file and the first differing id
    RESTART = "restart"  # start that output over (the old file is kept aside, never deleted)
    ACCEPT = "accept"  # take the existing lines anyway, knowingly (counted in a warning)


DEFAULT_MISMATCH_POLICY = MismatchPolicy.REFUSE
"""What a rerun does unless told otherwise: nothing is mixed or thrown away without being asked."""

OnMismatch = Annotated[
    MismatchPolicy,
    Field(
        default=DEFAULT_MISMATCH_POLICY,
        description="A rerun finding lines made for other requests or settings: refuse, restart (old file kept "
        "aside), accept.",
    ),
    HOW_IT_RUNS,
]
"""The ``onMismatch`` field of every resumable section (run specs and stages), defined once."""


class Price(SpecModel):
    """Prices in currency units per million tokens."""

    input_per_mtok: float = Field(ge=0.0, description="Price of a million prompt tokens.")
    output_per_mtok: float = Field(ge=0.0, description="Price of a million completion tokens.")


class ExecutorSettings(SpecModel):
    """How the executor sends a batch: in-flight bound, time limits, retries, balancing, output handling."""

    concurrency: int = Field(default=64, ge=1, le=4096, description="Requests in flight at once.")
    timeout_seconds: float = Field(default=600.0, gt=0, description="Time limit of one attempt of one request.")
    connect_timeout_seconds: float = Field(default=10.0, gt=0, description="Time limit of opening a connection.")
    max_attempts: int = Field(default=6, ge=1, le=100, description="Attempts per request before it counts as failed.")
    backoff_base_seconds: float = Field(
        default=1.0, ge=0, description="First retry delay; it doubles per attempt (full jitter)."
    )
    backoff_cap_seconds: float = Field(default=60.0, ge=0, description="Longest delay between two attempts.")
    retry_after_cap_seconds: float = Field(
        default=300.0, ge=0, description="Longest server-requested delay (Retry-After) that is honoured."
    )
    affinity: bool = Field(default=False, description="Send samples of one instance to one replica (prefix cache).")
    compact: bool = Field(default=False, description="Rewrite the output with one line per request at the end.")
    prices: dict[str, Price] = Field(
        default_factory=dict, description="Prices per model name, for the cost in the summary."
    )
    cooldown_after_failures: int = Field(
        default=5, ge=1, description="Consecutive failures after which a replica is rested."
    )
    cooldown_base_seconds: float = Field(default=1.0, gt=0, description="First rest of a failing replica; doubles.")
    cooldown_cap_seconds: float = Field(default=60.0, gt=0, description="Longest rest of a failing replica.")
    part_lines: int = Field(default=256, ge=1, description="On object storage: lines per appended part file (at most).")
    part_seconds: float = Field(default=2.0, gt=0, description="On object storage: seconds per part file (at most).")
    read_chunk_lines: int = Field(default=512, ge=1, description="Input lines read per hop to the reader thread.")
    force_httpx: bool = Field(
        default=False, description="Send plain-http endpoints through httpx too (slower; for comparisons)."
    )
    prompt_grouping: bool = Field(
        default=True,
        description="Prompt-cache-aware sending: the samples of one prompt go one after another to one replica "
        "(chosen by a hash of the prompt), concurrency spread across prompts.",
    )
    affinity_load_factor: float = Field(
        default=1.25,
        ge=1.0,
        description="Bounded-load affinity: a replica takes a new prompt while it has at most this factor of the "
        "mean load.",
    )
    stall_warning_seconds: float = Field(
        default=60.0, gt=0, description="Warn this often while requests wait longer than this for an answer."
    )
    deadline_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Time limit of the inference as a whole: then unfinished requests are recorded as failed "
        "(`deadline`) and the run fails; a rerun sends them.",
    )

    @model_validator(mode="after")
    def _ordered_bounds(self) -> ExecutorSettings:
        if self.backoff_base_seconds > self.backoff_cap_seconds:
            raise ValueError("backoffBaseSeconds must not exceed backoffCapSeconds")
        if self.cooldown_base_seconds > self.cooldown_cap_seconds:
            raise ValueError("cooldownBaseSeconds must not exceed cooldownCapSeconds")
        return self


def _http_urls(urls: list[str]) -> list[str]:
    for url in urls:
        if not url.startswith(("http://", "https://")):
            # The value is not quoted: a caller who pasted a key here would see it echoed back.
            raise ValueError("an endpoint URL must start with http:// or https://")
    return urls


HttpUrls = Annotated[list[str], AfterValidator(_http_urls), Access.ENDPOINT]
"""Base URLs of a model's replicas: each ``http://`` or ``https://`` (a service accepts only allowed ones)."""


class ModelEndpoints(SpecModel):
    """Where an inference sends its requests, and as what: base URLs, model name, server flavour, key set."""

    urls: HttpUrls = Field(min_length=1, description="Base URLs of the model's replicas (balanced).")
    model: str | None = Field(default=None, min_length=1, description="Sent as body.model; unset: as written.")
    flavor: EngineFlavor = Field(default=EngineFlavor.OPENAI, description="Server flavour (thinking-key mapping).")
    thinking_processor: ThinkingProcessor | None = Field(
        default=None, description="SGLang thinking-budget logit processor for thinkingBudget (flavour sglang)."
    )
    api_key_set: KeySetName | None = Field(
        default=None,
        description="Name of the key set whose keys are sent (`--key-set NAME=ENV`); unset: the default set "
        "(OPENAI_KEYS / OPENAI_API_KEY).",
    )
