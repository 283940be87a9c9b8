"""ExecutorSettings: every knob of the batch executor in one typed, frozen object with documented defaults."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from patchline.core.errors import InputError

__all__ = ["Engine", "ExecutorSettings", "Price", "ThinkingProcessor"]


class Engine(enum.Enum):
    """What serves the requests; decides which engine-specific body keys the executor adds."""

    OPENAI = "openai"  # any OpenAI-compatible endpoint: the body is sent as written
    SGLANG = "sglang"  # SGLang: thinking keys are mapped to what SGLang honours (see patchline.gateway.thinking)
    LLAMACPP = "llamacpp"  # llama.cpp's server: the body is sent as written


class ThinkingProcessor(enum.Enum):
    """SGLang's built-in thinking-budget logit processors (server needs ``--enable-custom-logit-processor``)."""

    QWEN3 = "qwen3"
    DEEPSEEK_R1 = "deepseek-r1"


@dataclass(frozen=True, slots=True)
class Price:
    """Prices in currency units per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True)
class ExecutorSettings:
    """How the executor sends a batch. Built once at the entry point and passed down.

    Defaults: 64 requests in flight, 600 s per attempt, 6 attempts per request, full-jitter backoff from
    1 s doubling up to 60 s, a Retry-After honoured up to 300 s; an endpoint is cooled down after 5
    consecutive failures for 1 s doubling up to 60 s.
    """

    concurrency: int = 64
    timeout_s: float = 600.0
    connect_timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    retry_after_cap_s: float = 300.0
    model_override: str | None = None
    affinity: bool = False
    compact: bool = False
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    prices: Mapping[str, Price] = field(default_factory=lambda: MappingProxyType({}))
    engine: Engine = Engine.OPENAI
    thinking_processor: ThinkingProcessor | None = None
    cooldown_after_failures: int = 5
    cooldown_base_s: float = 1.0
    cooldown_cap_s: float = 60.0
    # On object storage the output is appended as part files: one per this many lines or seconds.
    part_lines: int = 256
    part_seconds: float = 2.0
    # Input lines read per hop to the reader thread (the loop never blocks on a file read).
    read_chunk_lines: int = 512
    # Send plain-http endpoints through httpx too (https:// ones always are): slower, for comparisons.
    force_httpx: bool = False
    # Prompt-cache-aware sending (patchline.gateway.grouping): the requests of one prompt go one after
    # another to one replica (chosen by a hash of the prompt), concurrency spread across prompts.
    prompt_grouping: bool = True
    # Bounded-load affinity: a replica takes a new prompt while it has at most this factor of the mean load.
    affinity_load_factor: float = 1.25

    def __post_init__(self) -> None:
        checks = (
            (self.concurrency >= 1, "concurrency must be >= 1"),
            (self.timeout_s > 0, "timeout must be > 0 seconds"),
            (self.connect_timeout_s > 0, "connect timeout must be > 0 seconds"),
            (self.max_attempts >= 1, "max attempts must be >= 1"),
            (0 <= self.backoff_base_s <= self.backoff_cap_s, "backoff base must be between 0 and the cap"),
            (self.retry_after_cap_s >= 0, "the Retry-After cap must be >= 0"),
            (self.cooldown_after_failures >= 1, "cooldown threshold must be >= 1 failure"),
            (0 < self.cooldown_base_s <= self.cooldown_cap_s, "cooldown base must be > 0 and <= the cap"),
            (self.part_lines >= 1 and self.part_seconds > 0, "part size limits must be positive"),
            (self.read_chunk_lines >= 1, "read chunk must be >= 1 line"),
            (self.metrics_port is None or 0 <= self.metrics_port <= 65535, "metrics port out of range"),
            (self.affinity_load_factor >= 1.0, "the affinity load factor must be >= 1"),
        )
        for ok, message in checks:
            if not ok:
                raise InputError(message)
        if not isinstance(self.prices, MappingProxyType):
            object.__setattr__(self, "prices", MappingProxyType(dict(self.prices)))
