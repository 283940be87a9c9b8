"""What a run writes about itself: ``manifest.json`` (enough to rerun it) and one record per stage."""

from __future__ import annotations

import asyncio
import hashlib
import json
import platform
import time
from collections.abc import Sequence
from typing import Any

from patchline import __version__
from patchline.core import layout
from patchline.core.errors import InputError
from patchline.core.redact import Redactor
from patchline.core.sglang_args import secret_values
from patchline.core.spec import SGLANG_VERSION, InferenceRun, Rollout, SGLangEngine, StageStatus
from patchline.core.store import ArtifactStore, open_artifact
from patchline.pipeline.plan import PlanItem, StagePlan

__all__ = ["FileBook", "write_manifest"]


class FileBook:
    """Stage records as ``stages/{name}.json`` in the run root: the local ``StageBook`` of the driver."""

    def __init__(self, store: ArtifactStore) -> None:
        self._store = store

    async def get(self, name: str) -> StageStatus | None:
        """The record of ``name`` if an earlier run wrote one."""
        return await asyncio.to_thread(self._read, name)

    async def put(self, record: StageStatus) -> None:
        """Write the record (atomically); a Succeeded one makes every rerun skip the stage."""
        text = json.dumps(record.to_manifest(), indent=2, sort_keys=True) + "\n"
        await asyncio.to_thread(self._store.write_text, layout.stage_record(record.name), text)

    def _read(self, name: str) -> StageStatus | None:
        path = layout.stage_record(name)
        if not self._store.exists(path):
            return None
        try:
            return StageStatus.model_validate_json(self._store.read_text(path))
        except ValueError as exc:
            raise InputError(
                f"{self._store.uri(path)}: unreadable stage record ({exc}); delete it to rerun the stage"
            ) from exc


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
    stages: Sequence[PlanItem],
    *,
    server_args: Sequence[str] = (),
    dataset: str | None = None,
) -> dict[str, Any]:
    """Write ``manifest.json``: the spec as applied, versions, input hashes, server arguments and stage plan.

    Secret server arguments (SGLang's ``--api-key``) are recorded as ``<redacted>``, in the spec too.
    """
    engine = run.spec.engine
    extra = engine.extra_args if isinstance(engine, SGLangEngine) else []
    redactor = Redactor(secret_values([*extra, *server_args]))
    spec = redactor.value(run.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"status"}))
    manifest = {
        "run": spec,
        "patchline": {"version": __version__, "python": platform.python_version(), "sglangTarget": SGLANG_VERSION},
        "hashes": {
            "spec": hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
            **({"dataset": digest} if dataset and (digest := _sha256_of(dataset)) else {}),
        },
        "server": {"args": redactor.value(list(server_args))},
        "stages": [_planned(item) for item in stages],
        "writtenAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    store.write_text(layout.MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _planned(item: PlanItem) -> dict[str, Any]:
    """A plan item as ``manifest.json`` lists it: the stage and its settings (rounds: the first round's)."""
    if isinstance(item, StagePlan):
        settings = item.settings.model_dump(mode="json", by_alias=True, exclude_none=True)
        return {
            "name": item.name,
            "operation": item.operation.name,
            "service": item.operation.service,
            "settings": settings,
        }
    return {"name": item.name, "maxRounds": item.max_rounds, "round": [_planned(s) for s in item.stages_of(0)]}
