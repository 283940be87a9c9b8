"""Both rollouts end to end through the command line, as docs/rollouts.md documents them.

stage 1 -> ``patchline infer run`` -> stage 2 -> ``patchline infer run`` -> stage 3, against the oracle
server on loopback, with real Lite psf/requests instances and structure JSON of the installed package.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.oracle import OracleServer
from tests.fixtures.lite_repos import RequestsLite, requests_lite  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.parametrize("kind", ["bugfixer", "testwriter"])
def test_three_stages_through_the_cli(requests_lite: RequestsLite, tmp_path: Path, kind: str) -> None:  # noqa: F811
    data = ["--dataset", str(requests_lite.dataset), "--repostructure_dir", str(requests_lite.structure_dir)]
    out = tmp_path / kind
    with OracleServer(requests_lite.dataset) as oracle:
        url = oracle.base_url
        assert (
            main(
                [
                    "rollout",
                    kind,
                    "--stage",
                    "gen_step1",
                    *data,
                    "--output_file",
                    f"{out}/batch_requests_step1.jsonl",
                    "--model_name",
                    "oracle",
                    "--passk",
                    "2",
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "infer",
                    "run",
                    "--input_file",
                    f"{out}/batch_requests_step1.jsonl",
                    "--output_file",
                    f"{out}/batch_output_step1.jsonl",
                    "--url",
                    url,
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "rollout",
                    kind,
                    "proc_step1_gen_step2",
                    *data,
                    "--input_file",
                    f"{out}/batch_output_step1.jsonl",
                    "--output_file",
                    f"{out}/batch_requests_step2.jsonl",
                    "--model_name",
                    "oracle",
                    "--num_workers",
                    "2",
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "infer",
                    "run",
                    "--input_file",
                    f"{out}/batch_requests_step2.jsonl",
                    "--output_file",
                    f"{out}/batch_output_step2.jsonl",
                    "--url",
                    url,
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "rollout",
                    kind,
                    "--stage",
                    "proc_step2",
                    *data,
                    "--input_file",
                    f"{out}/batch_output_step2.jsonl",
                    "--step1_file",
                    f"{out}/batch_output_step1.jsonl",
                    "--save_dir",
                    str(out),
                    "--num_workers",
                    "2",
                ]
            )
            == 0
        )
    ids = {f"{iid}__pass{k}" for iid in requests_lite.instance_ids for k in range(2)}
    assert {r["custom_id"] for r in _lines(out / "batch_output_step2.jsonl")} | {
        f["custom_id"] for f in _lines(out / "failures.jsonl")
    } == ids
    samples = {p.stem for p in (out / "samples").glob("*.jsonl")}
    failed = {str(f["custom_id"]) for f in _lines(out / "failures.jsonl")}
    assert samples | failed == ids and not samples & failed
    output = _lines(out / "output.jsonl")
    assert sorted(str(r["custom_id"]) for r in output) == sorted(samples)
    name = "output_0_processed.jsonl" if kind == "bugfixer" else "output_0_processed_reproduction_test.jsonl"
    assert (out / name).exists()
    if kind == "bugfixer":
        # The gold patches were written for older requests: their edits mostly do not apply here, and the
        # patches stay empty, but every instance still gets one prediction.
        assert len(_lines(out / "predictions.jsonl")) == len(requests_lite.instance_ids)
    else:
        for record in _lines(out / name):
            assert str(record["test_patch"]).startswith("diff --git a/reproduce_bug.py b/reproduce_bug.py\n")
