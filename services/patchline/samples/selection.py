"""Choosing an instance's prediction among its samples: a registry of strategies, each explaining its choice.

A strategy takes the instance's rows of the sample table (every round, any order) and returns a
:class:`Choice`: the sample whose patch is the prediction and a :class:`~patchline.core.samples.SelectionRecord`
saying why (the votes per normalised patch, what was left out and for which verdict).

- ``agentless-majority``: the original Agentless rule (SPEC §6b), exactly: over the samples in index order,
  those whose normalised patch is non-empty (with ``plausible``, also valid) vote by normal form; the most
  votes win, a tie goes to the form that appeared first, and the prediction is the first sample with it.
  When no sample is left, the vote is over every non-empty normal form; when every patch is empty, there
  is no prediction (an empty patch). Where the original stops with an error (patches, but every normal form
  empty), the prediction is empty too and the record says so.
- ``first-valid``: the lowest index whose patch is valid; else the lowest non-empty one (a fallback).
- ``first-nonempty``: the lowest index with a non-empty patch.
- a sample index ``N``: sample N.
- ``module:function``: a user's function ``f(samples: Sequence[SampleRecord]) -> int | None`` returning the
  chosen sample index (None: no prediction), imported by name, never evaluated; only where the caller allows
  hooks (a process run for the user, not a service answering a gRPC caller).
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from patchline.core.errors import InputError, PatchlineError
from patchline.core.samples import Exclusion, PatchVotes, SampleRecord, SelectionRecord
from patchline.core.spec import AGENTLESS_MAJORITY, FIRST_NONEMPTY, FIRST_VALID, Selection, is_hook

__all__ = ["STRATEGIES", "Choice", "HookError", "Strategy", "resolve_strategy"]


@dataclass(frozen=True)
class Choice:
    """The prediction of one instance (its patch, '' for none) and the record of why."""

    record: SelectionRecord
    patch: str


Strategy = Callable[[Sequence[SampleRecord]], Choice]
"""A strategy: an instance's samples in, its choice out."""


class HookError(PatchlineError):
    """A user's selection function cannot be used (not importable, not callable, or a wrong answer)."""


def _excluded(sample: SampleRecord, *, plausible: bool) -> str | None:
    """Why a sample does not vote (None: it votes)."""
    if not sample.model_patch.strip():
        return "empty_patch" if sample.status in ("ok", "") else f"empty_patch ({sample.status})"
    if not sample.vote_key:
        return "empty_normal_form"
    if plausible and not sample.valid:
        return f"invalid ({sample.apply_error or 'syntax: ' + ', '.join(sample.syntax_errors)})"
    return None


def _record(
    instance_id: str,
    strategy: str,
    ordered: Sequence[SampleRecord],
    chosen: SampleRecord | None,
    reason: str,
    *,
    votes: Sequence[PatchVotes] = (),
    excluded: Sequence[Exclusion] = (),
    fallback: bool = False,
) -> Choice:
    record = SelectionRecord(
        instance_id=instance_id,
        strategy=strategy,
        chosen_sample=chosen.sample if chosen is not None else None,
        normalized_hash=chosen.normalized_hash if chosen is not None else "",
        reason=reason,
        samples=len(ordered),
        valid_samples=sum(1 for s in ordered if s.valid),
        votes=list(votes),
        excluded=list(excluded),
        fallback=fallback,
    )
    return Choice(record, chosen.model_patch if chosen is not None else "")


def _tally(ordered: Sequence[SampleRecord], voting: Sequence[int]) -> tuple[int, list[PatchVotes]]:
    """The winning position by the original's rule (most votes, then first appearance) and the vote table."""
    keys = [ordered[i].vote_key for i in voting]
    votes = Counter(keys)
    first: dict[str, int] = {}
    for position, key in zip(voting, keys, strict=True):
        first.setdefault(key, position)
    winner = max(voting, key=lambda i: (votes[ordered[i].vote_key], -first[ordered[i].vote_key]))
    table = [
        PatchVotes(
            normalized_hash=ordered[first[key]].normalized_hash,
            votes=count,
            samples=[ordered[i].sample for i in voting if ordered[i].vote_key == key],
        )
        for key, count in sorted(votes.items(), key=lambda item: (-item[1], first[item[0]]))
    ]
    return winner, table


def agentless_majority(*, plausible: bool) -> Strategy:
    """The original's majority vote over normalised patches (module docstring)."""

    def choose_by_majority(samples: Sequence[SampleRecord]) -> Choice:
        ordered = sorted(samples, key=lambda s: s.sample)
        instance_id = ordered[0].instance_id if ordered else ""
        reasons = {i: _excluded(s, plausible=plausible) for i, s in enumerate(ordered)}
        excluded = [Exclusion(sample=ordered[i].sample, reason=why) for i, why in reasons.items() if why is not None]
        voting = [i for i, why in reasons.items() if why is None]
        fallback = False
        if not voting:
            if all(not s.model_patch.strip() for s in ordered):
                return _record(
                    instance_id, AGENTLESS_MAJORITY, ordered, None, "every patch is empty", excluded=excluded
                )
            voting = [i for i, s in enumerate(ordered) if s.vote_key]
            fallback = True
            if not voting:
                reason = "patches, but every normal form is empty (the original stops with an error here)"
                return _record(instance_id, AGENTLESS_MAJORITY, ordered, None, reason, excluded=excluded)
        winner, table = _tally(ordered, voting)
        top = table[0].votes
        tied = sum(1 for row in table if row.votes == top) > 1
        reason = f"majority: {top} of {len(voting)} votes" + (", tie to the form that appeared first" if tied else "")
        if fallback:
            reason = "no valid sample left: voted over every non-empty normal form; " + reason
        chosen = ordered[winner]
        return _record(
            instance_id, AGENTLESS_MAJORITY, ordered, chosen, reason, votes=table, excluded=excluded, fallback=fallback
        )

    return choose_by_majority


def _first(
    name: str, wanted: Callable[[SampleRecord], bool], what: str, fallback: Callable[[SampleRecord], bool] | None
) -> Strategy:
    def choose_first(samples: Sequence[SampleRecord]) -> Choice:
        ordered = sorted(samples, key=lambda s: s.sample)
        instance_id = ordered[0].instance_id if ordered else ""
        chosen = next((s for s in ordered if wanted(s)), None)
        if chosen is not None:
            return _record(instance_id, name, ordered, chosen, f"the first {what} sample")
        spare = next((s for s in ordered if fallback(s)), None) if fallback is not None else None
        if spare is not None:
            return _record(instance_id, name, ordered, spare, f"no {what} sample: the first non-empty", fallback=True)
        return _record(instance_id, name, ordered, None, "every patch is empty")

    return choose_first


def _nonempty(sample: SampleRecord) -> bool:
    return bool(sample.model_patch.strip())


def fixed_sample(index: int) -> Strategy:
    """Sample ``index`` of every instance, whatever it holds."""

    def choose_fixed(samples: Sequence[SampleRecord]) -> Choice:
        ordered = sorted(samples, key=lambda s: s.sample)
        instance_id = ordered[0].instance_id if ordered else ""
        chosen = next((s for s in ordered if s.sample == index), None)
        return _record(instance_id, str(index), ordered, chosen, f"fixed sample {index}")

    return choose_fixed


def user_hook(name: str) -> Strategy:
    """A user's ``module:function``, imported by name (HookError when it is not there or not callable)."""
    module_name, _, function_name = name.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise HookError(f"selection.strategy {name!r}: cannot import it ({type(exc).__name__}: {exc})") from None
    if not callable(function):
        raise HookError(f"selection.strategy {name!r} is not a function")

    def choose_by_hook(samples: Sequence[SampleRecord]) -> Choice:
        ordered = sorted(samples, key=lambda s: s.sample)
        instance_id = ordered[0].instance_id if ordered else ""
        try:
            picked = function(ordered)
        except Exception as exc:  # a user's function may raise anything: this instance's record says so
            return _record(instance_id, name, ordered, None, f"{name} raised {type(exc).__name__}: {exc}")
        if picked is None:
            return _record(instance_id, name, ordered, None, f"{name} chose no sample")
        chosen = next((s for s in ordered if isinstance(picked, int) and s.sample == picked), None)
        if chosen is None:
            return _record(instance_id, name, ordered, None, f"{name} returned {picked!r}: not a sample index")
        return _record(instance_id, name, ordered, chosen, f"{name} chose sample {picked}")

    return choose_by_hook


STRATEGIES: Mapping[str, Callable[[Selection], Strategy]] = MappingProxyType(
    {
        AGENTLESS_MAJORITY: lambda selection: agentless_majority(plausible=selection.plausible),
        FIRST_VALID: lambda selection: _first(FIRST_VALID, lambda s: s.valid, "valid", _nonempty),
        FIRST_NONEMPTY: lambda selection: _first(FIRST_NONEMPTY, _nonempty, "non-empty", None),
    }
)
"""The built-in strategies by name (a sample index and ``module:function`` hooks are read from the name)."""


def resolve_strategy(name: str, selection: Selection, *, hooks: bool) -> Strategy:
    """The strategy ``name`` (a workflow's ``strategy``) configured by ``selection``.

    ``hooks``: whether a ``module:function`` may be imported here; where it may not (the services), the
    name is refused with an InputError that says where hooks run.
    """
    if name in STRATEGIES:
        return STRATEGIES[name](selection)
    if name.isdigit():
        return fixed_sample(int(name))
    if is_hook(name):
        if not hooks:
            raise InputError(
                f"selection.strategy {name!r} names your own function: it runs only where the stage runs in your "
                "own process (the patchline CLI, `patchline run` without --via); the services never import code "
                "a caller names"
            )
        return user_hook(name)
    raise InputError(f"unknown selection strategy {name!r}")
