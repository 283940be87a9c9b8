"""The real-model demo: the demo's instances through Agentless repair by a real 135 M model on CPU (llama.cpp).

Same inputs as the oracle demo (released code bases from PyPI, structure files), a localisation taken
from each gold patch (the files it touches, a line per hunk), and ``engine: llamacpp``: patchline starts
two llama.cpp processes serving SmolLM2-135M-Instruct and stops them after the run. The result is a
table with one row per sample: its verdict, and why a sample has no usable patch. Expect few patches.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from patchline.core import layout
from patchline.core.datasets import iter_swebench
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import Rollout, Sampling, parse_manifest
from patchline.core.store import ArtifactStore
from patchline.demo.prepare import prepare_data
from patchline.demo.releases import Release
from patchline.demo.run import InstanceCheck, check_patch, demo_manifest
from patchline.pipeline.runner import RunnerSettings, run_manifest
from patchline.workflows.agentless.records import SAMPLE_STATUS_MEANINGS

__all__ = ["RealDemoResult", "SampleRow", "run_real_demo"]


@dataclass(frozen=True)
class SampleRow:
    """One sample of the run: its status, patch size, and (for a patch) whether it applies."""

    instance_id: str
    sample: int
    status: str
    patch_lines: int
    detail: str


@dataclass
class RealDemoResult:
    """Where the run is, and a row per sample."""

    run_uri: str
    predictions: str
    rows: list[SampleRow]


def _rows(
    store: ArtifactStore, samples: int, releases: Mapping[str, Release], gold: Mapping[str, str]
) -> list[SampleRow]:
    rows: list[SampleRow] = []
    for sample in range(samples):
        for line in store.iter_lines(layout.agentless_processed(sample), missing_ok=True):
            record = json.loads(line)
            iid, status, patch = record["instance_id"], record.get("status") or "", record.get("model_patch") or ""
            detail = SAMPLE_STATUS_MEANINGS.get(status, status)
            if patch:
                check: InstanceCheck = check_patch(iid, patch, gold[iid], releases[iid])
                detail = check.detail
            rows.append(SampleRow(iid, sample, status, patch.count("\n"), detail))
    return sorted(rows, key=lambda r: (r.instance_id, r.sample))


def run_real_demo(workdir: Path, *, cache: Path, progress: Progress | None = None) -> RealDemoResult:
    """Prepare the demo's inputs, run the Agentless Rollout on llama.cpp, and describe every sample."""
    progress = progress or NullProgress()
    workdir.mkdir(parents=True, exist_ok=True)
    prepared = prepare_data(workdir, cache=cache, progress=progress)
    dataset, structures, releases = prepared.paths.instances, prepared.paths.structures, prepared.releases
    manifest_path = workdir / "agentless-real-demo.yaml"
    manifest = demo_manifest(
        "agentless-real.yaml", workdir, dataset, structures, locFile=str(prepared.paths.oracle_loc)
    )
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    rollout = parse_manifest(yaml.safe_load(manifest_path.read_text()), source=str(manifest_path))
    if not isinstance(rollout, Rollout):
        raise TypeError("the real-model demo manifest is a Rollout")
    report = asyncio.run(run_manifest(rollout, RunnerSettings(base=str(workdir)), progress=progress))
    store = ArtifactStore(report.run_uri)
    gold = {i.instance_id: i.patch for i in iter_swebench(str(dataset))}
    samples = (rollout.spec.sampling or Sampling()).samples
    rows = _rows(store, samples, releases, gold)
    return RealDemoResult(report.run_uri, store.uri(layout.PREDICTIONS), rows)
