"""EditBench's samples: every choice of an answer (``n`` of them) is a row of ``samples/{stem}.samples.jsonl``.

Rows are appended while rounds are collected, like the result records; when no round is pending the table
is rewritten with one row per (instance, choice) (the latest answered one, else the latest failure), and
the selection strategy writes ``{stem}.selection.jsonl`` and ``{stem}.predictions.jsonl`` in the ``samples/``
folder beside the result file. The result file keeps the seed's fields (its ``model_patch`` is the first
choice's). The repository state a patch is checked against is the code the prompt shows (after the
pre-edits).
"""

from __future__ import annotations

from patchline.core.batch import ResponseLine
from patchline.core.layout import SampleFiles
from patchline.core.samples import SampleRecord, answer_facts, iter_sample_records
from patchline.core.store import ArtifactStore
from patchline.edits.normalize import Normalizer
from patchline.samples.outputs import SampleOutputs, SelectionCounts
from patchline.samples.selection import Strategy
from patchline.samples.table import sample_record
from patchline.workflows.editbench.prompt import code_context_files
from patchline.workflows.editbench.records import answer_choices, choice_patch

__all__ = ["answer_rows", "failure_rows", "finish_samples"]

FAILED = "failed"


def answer_rows(instance_id: str, prompt: str, line: ResponseLine, *, recover_diffs: bool) -> list[SampleRecord]:
    """One row per choice of an answered request, each patch checked against the prompt's code."""
    files = code_context_files(prompt)
    normalizer = Normalizer()
    facts = answer_facts(line)
    rows = []
    for index, text in enumerate(answer_choices(line.response.body) or [line.content]):
        patch = choice_patch(text, prompt, recover_diffs=recover_diffs)
        rows.append(
            sample_record(
                instance_id=instance_id,
                sample=index,
                custom_id=instance_id,
                status="ok" if patch else "no_patch",
                model_patch=patch,
                read=files.get,
                normalizer=normalizer,
                # the usage covers the request: it is counted once, with the first choice
                facts=facts
                if index == 0
                else facts.model_copy(update={"prompt_tokens": None, "completion_tokens": None}),
            )
        )
    return rows


def failure_rows(instance_id: str, choices: int, error: str) -> list[SampleRecord]:
    """Rows for a request that got no usable answer (its ``n`` choices all failed)."""
    status = f"{FAILED}: {error}"[:200]
    return [
        SampleRecord(instance_id=instance_id, sample=i, custom_id=instance_id, status=status)
        for i in range(max(choices, 1))
    ]


def finish_samples(
    store: ArtifactStore, files: SampleFiles, *, strategy: Strategy, strategy_name: str, model: str
) -> SelectionCounts:
    """Rewrite the table with one row per (instance, choice), then the selection and predictions files."""
    latest: dict[str, dict[int, SampleRecord]] = {}
    if store.exists(files.table):
        for row in iter_sample_records(store, files.table):
            kept = latest.setdefault(row.instance_id, {}).get(row.sample)
            if kept is None or not row.status.startswith(FAILED) or kept.status.startswith(FAILED):
                latest[row.instance_id][row.sample] = row
    outputs = SampleOutputs(store, files, strategy=strategy, strategy_name=strategy_name, model_name=model)
    with outputs:
        for instance_id, rows in latest.items():
            outputs.write(instance_id, list(rows.values()))
        return outputs.finish(carry_over=False)
