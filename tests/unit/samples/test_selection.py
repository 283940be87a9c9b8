"""Selection on real shapes: patches of installed requests files, judged and normalised as a workflow does.

The majority rule is checked on the cases SPEC §6b names (ties, all-empty, invalid samples with and without
``plausible``, multi-file patches, normal forms that are empty) and against a reference reading of the rule
on random vote patterns; the other strategies, the hook and its refusal on the services, too.
"""

from __future__ import annotations

import sys
import types
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from patchline.core.errors import InputError
from patchline.core.samples import SampleRecord
from patchline.core.spec import Selection
from patchline.edits import render_patch
from patchline.edits.normalize import Normalizer
from patchline.samples.selection import HookError, resolve_strategy
from patchline.samples.table import sample_record

pytestmark = pytest.mark.unit

ROOT = Path(requests.__file__).parent
API, COOKIES = "requests/api.py", "requests/cookies.py"
FILES = {API: (ROOT / "api.py").read_text(encoding="utf-8"), COOKIES: (ROOT / "cookies.py").read_text(encoding="utf-8")}


def _edit(path: str, old: str, new: str, *, count: int = 1) -> str:
    assert old in FILES[path], old
    return FILES[path].replace(old, new, count)


FIX_A = _edit(
    API,
    '    return request("get", url, params=params, **kwargs)',
    '    return request("GET", url, params=params, **kwargs)',
)
FIX_A_NOISY = _edit(
    API,
    '    return request("get", url, params=params, **kwargs)',
    "    # upper case, as the RFC spells it\n    return request('GET', url, params=params, **kwargs)",
)
FIX_B = _edit(
    API, '    return request("head", url, **kwargs)', '    return request("head", url, allow_redirects=True, **kwargs)'
)
COMMENT_ONLY = _edit(API, "def get(\n", "# a comment\ndef get(\n")
BROKEN = _edit(
    API,
    '    return request("get", url, params=params, **kwargs)',
    '    return request("get", url, params=params, **kwargs',
)


def _patch(*changes: tuple[str, str]) -> str:
    return render_patch({path: (FILES[path], new) for path, new in changes})


def _stale(patch: str) -> str:
    """A patch whose context no longer matches the file (git apply refuses it)."""
    lines = patch.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(" ") and line.strip())
    lines[at] = lines[at] + "  # changed since"
    return "\n".join(lines)


def _samples(*patches: str) -> list[SampleRecord]:
    normalizer = Normalizer()
    return [
        sample_record(
            instance_id="psf__requests-1",
            sample=i,
            custom_id=f"psf__requests-1|{i}",
            status="ok" if patch else "no_edits",
            model_patch=patch,
            read=FILES.get,
            normalizer=normalizer,
        )
        for i, patch in enumerate(patches)
    ]


def _majority(samples: Sequence[SampleRecord], *, plausible: bool = False) -> tuple[int | None, str]:
    choice = resolve_strategy("agentless-majority", Selection(plausible=plausible), hooks=False)(samples)
    return choice.record.chosen_sample, choice.patch


def test_majority_over_normal_forms_chooses_the_first_raw_patch_of_the_winner() -> None:
    a, a_noisy, b = _patch((API, FIX_A)), _patch((API, FIX_A_NOISY)), _patch((API, FIX_B))
    samples = _samples("", b, a_noisy, a, b, a)
    assert samples[2].normalized_hash == samples[3].normalized_hash  # comments and quotes do not count
    chosen, patch = _majority(samples)
    assert chosen == 2 and patch == a_noisy  # 3 votes for A's form; its first sample's raw patch is the prediction
    record = resolve_strategy("agentless-majority", Selection(), hooks=False)(samples).record
    assert [(v.votes, v.samples) for v in record.votes] == [(3, [2, 3, 5]), (2, [1, 4])]
    assert [(e.sample, e.reason) for e in record.excluded] == [(0, "empty_patch (no_edits)")]
    assert record.reason == "majority: 3 of 5 votes"


def test_ties_go_to_the_form_that_appeared_first() -> None:
    a, b = _patch((API, FIX_A)), _patch((API, FIX_B))
    assert _majority(_samples(b, a, a, b))[0] == 0
    assert _majority(_samples("", a, b, b, a))[0] == 1
    record = resolve_strategy("agentless-majority", Selection(), hooks=False)(_samples(b, a)).record
    assert "tie to the form that appeared first" in record.reason


def test_every_patch_empty() -> None:
    choice = resolve_strategy("agentless-majority", Selection(), hooks=False)(_samples("", "", ""))
    assert choice.record.chosen_sample is None and choice.patch == "" and choice.record.reason == "every patch is empty"


def test_normal_forms_that_are_empty_do_not_vote() -> None:
    only_comments, a = _patch((API, COMMENT_ONLY)), _patch((API, FIX_A))
    samples = _samples(only_comments, only_comments, a)
    assert samples[0].normalized_patch == "" and samples[0].normalization == "normalized"
    assert _majority(samples)[0] == 2
    choice = resolve_strategy("agentless-majority", Selection(), hooks=False)(_samples(only_comments))
    assert choice.patch == "" and "every normal form is empty" in choice.record.reason


def test_invalid_samples_vote_unless_plausible() -> None:
    stale, b = _stale(_patch((API, FIX_A))), _patch((API, FIX_B))
    samples = _samples(stale, stale, b)
    assert samples[0].applies is False and samples[0].normalization == "raw" and samples[2].valid
    assert _majority(samples)[0] == 0  # the original votes over every non-empty normal form
    assert _majority(samples, plausible=True)[0] == 2
    record = resolve_strategy("agentless-majority", Selection(plausible=True), hooks=False)(samples).record
    assert {e.sample for e in record.excluded} == {0, 1} and record.excluded[0].reason.startswith("invalid (")


def test_plausible_without_a_valid_sample_falls_back_to_every_normal_form() -> None:
    broken = _patch((API, BROKEN))
    samples = _samples(broken, broken)
    assert samples[0].syntax_ok is False and samples[0].syntax_errors == [API] and not samples[0].valid
    choice = resolve_strategy("agentless-majority", Selection(plausible=True), hooks=False)(samples)
    assert choice.record.chosen_sample == 0 and choice.record.fallback


def test_multi_file_patches_vote_by_their_first_file() -> None:
    cookie_change = _edit(COOKIES, "import calendar", "import calendar  # kept")
    cookie_other = _edit(COOKIES, "import copy", "import copy as _copy\ncopy = _copy")
    first = _patch((API, FIX_A), (COOKIES, cookie_change))
    second = _patch((API, FIX_A), (COOKIES, cookie_other))
    samples = _samples(_patch((API, FIX_B)), first, second)
    assert samples[1].edited_files == [API, COOKIES] and samples[1].normalized_hash == samples[2].normalized_hash
    assert _majority(samples) == (1, first)


def test_first_valid_first_nonempty_fixed_and_hooks() -> None:
    stale, a = _stale(_patch((API, FIX_A))), _patch((API, FIX_A))
    samples = _samples("", stale, a)
    pick = {
        name: resolve_strategy(name, Selection(), hooks=False)(samples)
        for name in ("first-valid", "first-nonempty", "0")
    }
    assert pick["first-valid"].record.chosen_sample == 2 and pick["first-nonempty"].record.chosen_sample == 1
    assert pick["0"].record.chosen_sample == 0 and pick["0"].patch == ""
    fallback = resolve_strategy("first-valid", Selection(), hooks=False)(_samples("", stale))
    assert fallback.record.chosen_sample == 1 and fallback.record.fallback
    module = types.ModuleType("patchline_test_hooks")
    module.last = lambda samples: samples[-1].sample  # type: ignore[attr-defined]
    module.boom = lambda samples: 1 / 0  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        assert resolve_strategy("patchline_test_hooks:last", Selection(), hooks=True)(samples).record.chosen_sample == 2
        failed = resolve_strategy("patchline_test_hooks:boom", Selection(), hooks=True)(samples)
        assert failed.record.chosen_sample is None and "ZeroDivisionError" in failed.record.reason
        with pytest.raises(InputError, match="never import code a caller names"):
            resolve_strategy("patchline_test_hooks:last", Selection(), hooks=False)
        with pytest.raises(HookError, match="cannot import"):
            resolve_strategy("patchline_test_hooks:missing", Selection(), hooks=True)
    finally:
        del sys.modules[module.__name__]


def _reference_vote(keys: list[str], raw: list[str], plausible: list[bool], *, use_plausible: bool) -> str:
    """SPEC §6b's choosing, read independently: the raw patch of the chosen sample, '' when none."""
    ids = [i for i, key in enumerate(keys) if key.strip() and (plausible[i] or not use_plausible)]
    if not ids:
        if all(not r.strip() for r in raw):
            return ""
        ids = [i for i, key in enumerate(keys) if key.strip()]
        if not ids:
            return ""
    votes = Counter(keys[i].strip() for i in ids)
    first: dict[str, int] = {}
    for i in ids:
        first.setdefault(keys[i].strip(), i)
    best = max(ids, key=lambda i: (votes[keys[i].strip()], -first[keys[i].strip()]))
    return raw[best]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["", " ", "A", "B", "C"]), st.booleans(), st.booleans()), max_size=11),
    st.booleans(),
)
def test_majority_agrees_with_a_reference_reading(cells: list[tuple[str, bool, bool]], use_plausible: bool) -> None:
    samples = [
        SampleRecord(
            instance_id="i",
            sample=i,
            custom_id=f"i|{i}",
            status="ok",
            model_patch=f"raw {i} {key}" if key.strip() or empty_raw else "",
            normalized_patch=key,
            valid=valid,
        )
        for i, (key, valid, empty_raw) in enumerate(cells)
    ]
    expected = _reference_vote(
        [s.normalized_patch for s in samples],
        [s.model_patch for s in samples],
        [s.valid for s in samples],
        use_plausible=use_plausible,
    )
    choice = resolve_strategy("agentless-majority", Selection(plausible=use_plausible), hooks=False)(samples)
    assert choice.patch == expected
