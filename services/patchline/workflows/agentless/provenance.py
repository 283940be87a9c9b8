"""Whether the requests already in ``requests-repair.jsonl`` were written by these settings (``--batch_gen`` reruns).

A rerun appends only the missing samples, so every existing line must be one this run would write too.
Two checks, neither of which builds a prompt: the settings recorded in ``args.json`` by the run that
wrote the lines (everything that shapes a prompt or a body), and each line's body without its messages
against the body these settings give its sample (model, temperature, max_tokens, top_p, thinking keys).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from patchline.core import layout
from patchline.core.batch import iter_requests
from patchline.core.custom_id import decode_sample_id
from patchline.core.errors import InputError
from patchline.core.fingerprint import FingerprintMismatchError, Mismatch, MismatchPolicy, body_settings
from patchline.core.jsonl import LineReport
from patchline.core.spec import AgentlessStage
from patchline.core.store import ArtifactStore

__all__ = ["existing_request_ids", "request_settings"]

log = logging.getLogger(__name__)

# Settings that shape neither a prompt nor a body: a rerun may change them and keep the requests.
_NOT_IN_REQUESTS = frozenset(
    {
        "output_folder",
        "batch_output",
        "on_mismatch",
        "workflow.num_threads",
        "workflow.selection.strategy",
        "workflow.selection.plausible",
        "workflow.selection.resample_invalid",
        "workflow.selection.resample_samples",
        "workflow.selection.resample_token_budget",
        "workflow.max_answer_bytes",
        "workflow.item_timeout_seconds",
    }
)


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys (``workflow.top_n``)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def request_settings(args: dict[str, Any]) -> dict[str, Any]:
    """The ``args.json`` values that shape the requests, as dotted keys; local paths made absolute so a cwd
    change is no change."""
    shaping = {key: value for key, value in _flat(args).items() if key not in _NOT_IN_REQUESTS}
    for key, value in shaping.items():
        if isinstance(value, str) and "://" not in value and os.path.exists(value):
            shaping[key] = os.path.abspath(value)
    return shaping


def _previous_settings(store: ArtifactStore) -> dict[str, Any] | None:
    try:
        previous = json.loads(store.read_text(layout.AGENTLESS_ARGS))
    except (OSError, ValueError, UnicodeDecodeError):
        return None  # no args.json (or not ours): the per-line check still applies
    return previous if isinstance(previous, dict) else None


def _changed_settings(settings: AgentlessStage, store: ArtifactStore) -> list[str]:
    previous = _previous_settings(store)
    if previous is None:
        return []
    now, before = request_settings(settings.model_dump(mode="json")), request_settings(previous)
    shared = sorted(now.keys() & before.keys())  # a key one version of patchline lacks says nothing
    return [f"{key} {before[key]!r} -> {now[key]!r}" for key in shared if now[key] != before[key]]


def existing_request_ids(
    settings: AgentlessStage,
    store: ArtifactStore,
    *,
    body_of_sample: Callable[[int], dict[str, Any]],
    policy: MismatchPolicy,
    report: LineReport,
) -> set[str]:
    """The custom_ids already in the request file, once it is known they are this run's requests.

    ``body_of_sample`` gives the body these settings write for a sample (any prompt: messages are not
    compared). Lines written with other settings are refused (:class:`FingerprintMismatchError`) unless
    ``policy`` starts the file over (the old one kept aside: no id exists then) or accepts them.
    """
    name = layout.AGENTLESS_REQUESTS
    uri = store.uri(name)
    if policy is MismatchPolicy.RESTART:
        aside = store.move_aside(name)
        if aside is not None:
            log.warning("%s: writing the requests over (--restart); the old file is kept as %s", uri, store.uri(aside))
        return set()
    ids: list[str] = []
    differing: list[str] = []
    for _, request in iter_requests(store.iter_lines(name, missing_ok=True), source=uri, on_error=report):
        ids.append(request.custom_id)
        if _differs(body_of_sample, request.custom_id, request.body):
            differing.append(request.custom_id)
    changed = _changed_settings(settings, store) if ids else []
    mismatch = _mismatch(ids, differing, changed)
    if mismatch is not None and policy is MismatchPolicy.REFUSE:
        raise FingerprintMismatchError(
            f"{uri}: {mismatch.count} request(s) there were written with other settings (first: "
            f"{mismatch.first_id!r}; {mismatch.detail}): --restart writes the file over (the old one is kept "
            "aside), --accept-existing keeps them and adds only the missing requests"
        )
    if mismatch is not None:
        log.warning("%s: keeping %d request(s) written with other settings (--accept-existing)", uri, mismatch.count)
    return set(ids)


def _differs(body_of_sample: Callable[[int], dict[str, Any]], custom_id: str, body: dict[str, Any]) -> bool:
    try:
        sample = decode_sample_id(custom_id).index
    except InputError:
        return True  # not a repair request id at all
    return body_settings(body) != body_settings(body_of_sample(sample))


def _mismatch(ids: list[str], differing: list[str], changed: list[str]) -> Mismatch | None:
    if changed:
        return Mismatch(len(ids), ids[0], "settings changed since args.json: " + ", ".join(changed))
    if differing:
        return Mismatch(len(differing), differing[0], "their model or sampling settings differ")
    return None
