"""Sample-table rows: one ``SampleRecord`` per sample, made the same way by every workflow."""

from __future__ import annotations

import hashlib

from patchline.core.samples import AnswerFacts, SampleRecord
from patchline.edits.errors import PatchApplyError
from patchline.edits.normalize import FileReader, Normalizer
from patchline.edits.unified import diff_file_paths
from patchline.samples.validity import check_validity

__all__ = ["normal_form_hash", "sample_record"]


def normal_form_hash(key: str) -> str:
    """16 hex digits naming a stripped normal form ('' for the empty one): equal forms, equal hashes."""
    if not key:
        return ""
    return hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def _edited_files(patch: str) -> list[str]:
    try:
        return [new or old or "" for old, new in diff_file_paths(patch)]
    except PatchApplyError:
        return []


def sample_record(
    *,
    instance_id: str,
    sample: int,
    custom_id: str,
    status: str,
    model_patch: str,
    read: FileReader,
    normalizer: Normalizer,
    facts: AnswerFacts | None = None,
    round_number: int = 0,
) -> SampleRecord:
    """The row of one sample: its patch checked (``read``: files at the base commit) and normalised (SPEC §6b)."""
    validity = check_validity(model_patch, read, parses=normalizer.parses)
    normalized = normalizer.normalize(model_patch, read, applied=validity.after if validity.applies else None)
    answered = facts or AnswerFacts()
    return SampleRecord(
        instance_id=instance_id,
        sample=sample,
        custom_id=custom_id,
        round=round_number,
        status=status,
        model_patch=model_patch,
        edited_files=_edited_files(model_patch),
        normalized_patch=normalized.text,
        normalized_hash=normal_form_hash(normalized.key),
        normalization=normalized.how,
        applies=validity.applies,
        apply_error=validity.apply_error,
        syntax_ok=validity.syntax_ok,
        syntax_errors=validity.syntax_errors,
        valid=bool(model_patch.strip()) and validity.valid,
        **answered.model_dump(),
    )
