"""The two custom_id conventions of batch lines, encoded and decoded in one place.

Agentless samples are ``"{instance_id}|{i}"`` (i = sample index, 0 = greedy). Rollout passes are
``"{instance_id}"`` when passk is 1, else ``"{instance_id}__pass{k}"``. Decoding splits on the *last*
separator, so an instance id that itself contains ``|`` or ``__pass`` survives the round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from patchline.core.errors import InputError

__all__ = [
    "PassId",
    "SampleId",
    "decode_pass_id",
    "decode_sample_id",
    "encode_pass_id",
    "encode_sample_id",
]

SAMPLE_SEPARATOR = "|"
PASS_SEPARATOR = "__pass"  # noqa: S105 - a custom_id separator, not a password
# A pass number has at most 6 digits: longer digit runs (a hostile or broken id) are part of the instance id.
_PASS_SUFFIX = re.compile(r"__pass(\d{1,6})\Z")


@dataclass(frozen=True, slots=True)
class SampleId:
    """An Agentless sample: instance and sample index (0 is the greedy sample)."""

    instance_id: str
    index: int

    def __str__(self) -> str:
        return encode_sample_id(self.instance_id, self.index)


@dataclass(frozen=True, slots=True)
class PassId:
    """A rollout pass: instance and pass number k (from 0)."""

    instance_id: str
    k: int


def encode_sample_id(instance_id: str, index: int) -> str:
    """Return ``"{instance_id}|{index}"``."""
    if index < 0:
        raise InputError(f"sample index must be >= 0, got {index}")
    return f"{instance_id}{SAMPLE_SEPARATOR}{index}"


def decode_sample_id(custom_id: str) -> SampleId:
    """Split an Agentless custom_id on its last ``|``; raise InputError if it has no sample index."""
    instance_id, sep, index = custom_id.rpartition(SAMPLE_SEPARATOR)
    if not sep or not instance_id or not index.isdigit():
        raise InputError(f"custom_id {custom_id!r} is not of the form '{{instance_id}}|{{sample}}'")
    return SampleId(instance_id, int(index))


def encode_pass_id(instance_id: str, k: int, passk: int) -> str:
    """Return the rollout custom_id of pass ``k`` out of ``passk``."""
    if passk < 1 or not 0 <= k < passk:
        raise InputError(f"pass {k} out of {passk} is not a valid pass")
    return instance_id if passk == 1 else f"{instance_id}{PASS_SEPARATOR}{k}"


def decode_pass_id(custom_id: str, *, passk: int | None = None) -> PassId:
    """Split a rollout custom_id into instance id and pass.

    With ``passk == 1`` the custom_id is the instance id, whatever it ends with. Otherwise a trailing
    ``__pass{k}`` is the pass number; without one the pass is 0 (files written with passk 1).
    """
    if passk == 1:
        return PassId(custom_id, 0)
    match = _PASS_SUFFIX.search(custom_id)
    if match is None or match.start() == 0:
        return PassId(custom_id, 0)
    return PassId(custom_id[: match.start()], int(match.group(1)))
