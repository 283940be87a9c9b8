"""Keyed rewrites, latest-line reading, and how stage loops record crashed or timed-out items."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from patchline.core.progress import NullProgress
from patchline.core.store import ArtifactStore
from patchline.workflows.parallel import ItemFailure
from patchline.workflows.rollout.common import ItemResult, StageSummary, drain
from patchline.workflows.rollout.outputs import KeyedRewrite, iter_latest_responses, latest_line_numbers
from tests.unit.workflows.rollout.helpers import failed_line, ok_line, read_jsonl

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class _Item:
    custom_ids: tuple[str, ...]


def test_keyed_rewrite_replaces_touched_and_keeps_others(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    with KeyedRewrite(store, "f.jsonl") as out:
        for cid in ("a", "b", "c"):
            out.write(cid, {"custom_id": cid, "v": 1})
    with KeyedRewrite(store, "f.jsonl") as out:
        out.write("b", {"custom_id": "b", "v": 2})
        out.touch("c")
    assert read_jsonl(tmp_path / "f.jsonl") == [{"custom_id": "b", "v": 2}, {"custom_id": "a", "v": 1}]


def test_keyed_rewrite_leaves_the_file_alone_on_error(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    (tmp_path / "f.jsonl").write_text('{"custom_id": "a"}\n')
    with pytest.raises(RuntimeError), KeyedRewrite(store, "f.jsonl") as out:
        out.write("b", {"custom_id": "b"})
        raise RuntimeError("crash")
    assert (tmp_path / "f.jsonl").read_text() == '{"custom_id": "a"}\n'


def test_latest_line_per_custom_id(tmp_path: Path) -> None:
    (tmp_path / "o.jsonl").write_text("\n".join([failed_line("a"), ok_line("b", "1"), "{bad", ok_line("a", "2"), ""]))
    store = ArtifactStore(str(tmp_path))
    latest = latest_line_numbers(store, "o.jsonl")
    assert latest == {"a": 4, "b": 2}
    got = [(r.custom_id, r.content) for r in iter_latest_responses(store, "o.jsonl", {"a": latest["a"]})]
    assert got == [("a", "2")]


def test_drain_records_timeouts_and_crashes_per_custom_id(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    summary = StageSummary("proc_step2")
    results = [
        (_Item(("x",)), ItemFailure(_Item(("x",)), "timeout", "time limit reached")),
        (_Item(("y", "z")), ItemFailure(_Item(("y", "z")), "exception", "ValueError: bad")),
        (_Item(("w",)), ItemResult(lines=[("w", b'{"custom_id": "w"}\n')])),
    ]
    with KeyedRewrite(store, "out.jsonl") as out, KeyedRewrite(store, "failures.jsonl") as failures:
        drain(results, summary=summary, outputs=out, failures=failures, progress=NullProgress())
    reasons = {f["custom_id"]: f["reason"] for f in read_jsonl(tmp_path / "failures.jsonl")}
    assert reasons == {"x": "timeout", "y": "exception", "z": "exception"}
    assert summary.items == 3 and summary.written == 1 and summary.failed == 3


def test_errors_of_the_latest_lines_name_their_real_line(tmp_path: Path) -> None:
    from patchline.core.jsonl import LineReport
    from patchline.workflows.rollout.outputs import iter_latest_responses, latest_line_numbers

    path = tmp_path / "batch_output_step1.jsonl"
    good = '{"custom_id": "a", "response": {"status_code": 200, "body": {}}, "error": null}'
    bad = '{"custom_id": "b", "response": {"status_code": "two hundred", "body": {}}, "error": null}'
    path.write_text(f"{good}\n{good}\n{bad}\n")
    store = ArtifactStore(str(tmp_path))
    report = LineReport()
    wanted = latest_line_numbers(store, path.name, report=report)
    assert [r.custom_id for r in iter_latest_responses(store, path.name, wanted, report=report)] == ["a"]
    [error] = report.errors
    assert str(error).startswith(f"{path}:3: response.status_code")
