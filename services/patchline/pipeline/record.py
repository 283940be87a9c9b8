"""What a run writes about itself: ``manifest.json`` (enough to rerun it) and one record per finished stage."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from patchline import __version__
from patchline.core import layout
from patchline.core.errors import InputError
from patchline.core.jsonl import load_json
from patchline.core.spec import SGLANG_VERSION, InferenceRun, Rollout
from patchline.core.store import ArtifactStore, open_artifact
from patchline.pipeline.plan import StagePlan

__all__ = ["StageRecord", "read_stage_record", "write_manifest", "write_stage_record"]


@dataclass(frozen=True)
class StageRecord:
    """A finished stage: what it ran, what it wrote, how long it took."""

    name: str
    operation: str
    phase: str
    counts: Mapping[str, float] = field(default_factory=dict)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0


def write_stage_record(store: ArtifactStore, record: StageRecord) -> None:
    """Record a finished stage; from now on a rerun skips it."""
    store.write_text(layout.stage_record(record.name), json.dumps(asdict(record), indent=2, sort_keys=True) + "\n")


def read_stage_record(store: ArtifactStore, stage: str) -> StageRecord | None:
    """The record of ``stage`` if it finished in an earlier run."""
    name = layout.stage_record(stage)
    if not store.exists(name):
        return None
    try:
        return StageRecord(**load_json(store.read_text(name)))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{store.uri(name)}: unreadable stage record ({exc}); delete it to rerun the stage") from exc


def _sha256_of(uri: str) -> str | None:
    """Digest of a local or object-store file (streamed); None for hub datasets and missing files."""
    if "/" not in uri and "." not in uri:
        return None
    try:
        store, name = open_artifact(uri)
        if not store.exists(name):
            return None
        digest = hashlib.sha256()
        for line in store.iter_lines(name):
            digest.update(line)
        return digest.hexdigest()
    except InputError:
        return None


def write_manifest(
    store: ArtifactStore,
    run: Rollout | InferenceRun,
    stages: Sequence[StagePlan],
    *,
    server_args: Sequence[str] = (),
    dataset: str | None = None,
) -> dict[str, Any]:
    """Write ``manifest.json``: the spec as applied, versions, input hashes, server arguments and stage plan."""
    spec = run.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"status"})
    manifest = {
        "run": spec,
        "patchline": {"version": __version__, "python": platform.python_version(), "sglangTarget": SGLANG_VERSION},
        "hashes": {
            "spec": hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
            **({"dataset": digest} if dataset and (digest := _sha256_of(dataset)) else {}),
        },
        "server": {"args": list(server_args)},
        "stages": [
            {"name": s.name, "operation": s.operation, "service": s.service, "params": dict(s.params)} for s in stages
        ],
        "writtenAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    store.write_text(layout.MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
