"""What the rollout stages read from their settings (:class:`~patchline.core.spec.RolloutStage`): the custom_id
range selection, required files, the issue text and the request body builder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from patchline.core.batch import CHAT_COMPLETIONS_URL, RequestLine, chat_body
from patchline.core.errors import InputError
from patchline.core.spec import RolloutStage

__all__ = ["KINDS", "STAGES", "IdRange", "build_request", "declared_passk", "id_range", "problem_statement", "require"]

KINDS = ("bugfixer", "testwriter")
STAGES = ("gen_step1", "proc_step1_gen_step2", "proc_step2")

# Stage settings field -> the seed's flag, for "this stage needs --flag" errors.
_FLAGS = {"input_file": "--input_file", "output_file": "--output_file", "step1_file": "--step1_file"}


def require(settings: RolloutStage, *names: str) -> None:
    """Raise InputError naming the first missing file setting among ``names`` (as the seed's flag)."""
    for name in names:
        if getattr(settings, name) in (None, ""):
            raise InputError(f"this stage needs {_FLAGS.get(name, name)}")


def problem_statement(settings: RolloutStage, text: str) -> str:
    """The issue text as the prompts show it (CRLF turned into LF with ``convert_crlf``)."""
    return text.replace("\r\n", "\n") if settings.workflow.convert_crlf else text


def declared_passk(settings: RolloutStage) -> int | None:
    """The passes per instance when more than one was asked for; None lets a file's custom_ids say (passk 1)."""
    samples = settings.sampling.samples
    return samples if samples > 1 else None


def id_range(settings: RolloutStage) -> IdRange:
    """The ``start_file`` / ``end_file`` selection."""
    return IdRange(settings.workflow.start_file, settings.workflow.end_file)


@dataclass(frozen=True)
class IdRange:
    """A range of custom_ids sorted as strings.

    Bounds that are whole numbers are positions in the sorted list (a slice ``[start:end]``); other
    bounds are custom_ids, ``start`` included and ``end`` excluded, so consecutive chunks never overlap.
    """

    start: str | None = None
    end: str | None = None

    @property
    def is_all(self) -> bool:
        """True when nothing is filtered out."""
        return self.start is None and self.end is None

    def select(self, custom_ids: Iterable[str]) -> set[str]:
        """The custom_ids inside the range."""
        ordered = sorted(set(custom_ids))
        if self.is_all:
            return set(ordered)
        if _is_index(self.start) and _is_index(self.end):
            lo = int(self.start) if self.start is not None else None
            hi = int(self.end) if self.end is not None else None
            return set(ordered[lo:hi])
        if _is_index(self.start) != _is_index(self.end) and None not in (self.start, self.end):
            raise InputError("--start_file and --end_file must both be positions or both be custom_ids")
        return {c for c in ordered if (self.start is None or c >= self.start) and (self.end is None or c < self.end)}


def _is_index(value: str | None) -> bool:
    return value is None or value.isdigit()


def build_request(custom_id: str, prompt: str, *, temperature: float, settings: RolloutStage) -> RequestLine:
    """A chat request with one user message, the stage's model, sampling and thinking keys (SPEC §1)."""
    messages = [{"role": "user", "content": prompt}]
    body = chat_body(model=settings.model, messages=messages, sampling=settings.sampling, temperature=temperature)
    return RequestLine(custom_id=custom_id, url=CHAT_COMPLETIONS_URL, body=body)
