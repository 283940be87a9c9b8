"""The settings of one Agentless repair run: the seed's flags plus patchline's own, typed and frozen."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from patchline.core.errors import InputError

__all__ = ["DEFAULT_ITEM_TIMEOUT_S", "DEFAULT_MAX_ANSWER_BYTES", "FIRST_NONEMPTY", "RepairSettings"]

FIRST_NONEMPTY = "first-nonempty"
"""``predictions_sample`` value: per instance, the lowest sample index with a non-empty ``model_patch``."""

DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""Largest response line of one sample that ``--process_batch`` reads (far above any real answer)."""

DEFAULT_ITEM_TIMEOUT_S = 300.0
"""Time limit of processing one instance (all its samples) in ``--process_batch``."""


@dataclass(frozen=True)
class RepairSettings:
    """Flags of ``patchline agentless repair`` (names as the seed's ``repair.py``).

    ``project_file_loc`` is the structure-JSON folder (env ``PROJECT_FILE_LOC``); ``repo`` a git
    repository, or a folder of checkouts named ``owner__repo``, read at each instance's ``base_commit``
    instead. ``predictions_sample`` chooses the sample written to ``predictions.jsonl``: ``first-nonempty``
    or a sample index. ``max_answer_bytes`` caps the response line of one sample (a larger one fails as
    ``answer_too_large``) and ``item_timeout`` the seconds one instance may take (else it fails as ``timeout``).
    """

    loc_file: str
    output_folder: str
    dataset: str
    model: str
    loc_interval: bool = False
    top_n: int | None = 1
    context_window: int = 10
    max_samples: int = 20
    skip_greedy: bool = False
    cot: bool = False
    diff_format: bool = False
    temperature: float = 0.8
    top_p: float = 1.0
    max_tokens: int = 1024
    thinking_budget: int | None = None
    enable_thinking: bool = False
    num_threads: int = 1
    split: str = "test"
    project_file_loc: str | None = None
    repo: str | None = None
    prompt_template: str | None = None
    compat_agentless_newlines: bool = False
    predictions_sample: str = FIRST_NONEMPTY
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    item_timeout: float = DEFAULT_ITEM_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.max_samples < 1:
            raise InputError(f"--max_samples must be at least 1, got {self.max_samples}")
        if self.skip_greedy and self.max_samples < 2:
            raise InputError("--skip_greedy with --max_samples 1 leaves no sample to request")
        if self.context_window < 0:
            raise InputError(f"--context_window must be >= 0, got {self.context_window}")
        if self.max_tokens < 1:
            raise InputError(f"--max_tokens must be >= 1, got {self.max_tokens}")
        if not self.diff_format:
            raise InputError(
                "only --diff_format (SEARCH/REPLACE) answers are supported: the original's edit_file format "
                "is read with eval, which patchline never does on model output"
            )
        if self.predictions_sample != FIRST_NONEMPTY and not (
            self.predictions_sample.isdigit() and int(self.predictions_sample) < self.max_samples
        ):
            raise InputError(f"--predictions-sample must be {FIRST_NONEMPTY!r} or a sample index below --max_samples")
        if self.max_answer_bytes < 1:
            raise InputError(f"--max-answer-bytes must be at least 1, got {self.max_answer_bytes}")
        if not self.item_timeout > 0:
            raise InputError(f"--item-timeout must be > 0 seconds, got {self.item_timeout}")
        if self.repo is None and self.project_file_loc is None:
            raise InputError("set PROJECT_FILE_LOC (folder of structure JSON files) or pass --repo")

    @property
    def first_sample(self) -> int:
        """The lowest sample index that gets a request (1 with --skip_greedy)."""
        return 1 if self.skip_greedy else 0

    def sample_temperature(self, index: int) -> float:
        """Sample 0 is greedy; the others use ``temperature``."""
        return 0.0 if index == 0 else self.temperature

    def as_args(self) -> dict[str, Any]:
        """The settings as written to ``args.json``."""
        return asdict(self)
