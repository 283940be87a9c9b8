"""Where each artifact lives below a run root: one constant or function per documented path (SPEC.md §3-5).

Every name returned here is relative to a run root (an :class:`~patchline.core.store.ArtifactStore`),
and every part that comes from data is validated, so no call site builds artifact paths by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from patchline.core.errors import InputError
from patchline.core.safepath import item_file_name, safe_component, safe_relpath

__all__ = [
    "AGENTLESS_ARGS",
    "AGENTLESS_OUTPUT",
    "AGENTLESS_REQUESTS",
    "AGENTLESS_RESPONSES",
    "AGENTLESS_USED_LOCS",
    "MANIFEST",
    "PREDICTIONS",
    "ROLLOUT_FAILURES",
    "ROLLOUT_OUTPUT",
    "SampleFiles",
    "agentless_log",
    "agentless_normalized",
    "agentless_processed",
    "agentless_resample_requests",
    "editbench_dataset_name",
    "editbench_infbench",
    "editbench_result",
    "editbench_result_dir",
    "editbench_round",
    "editbench_sample_files",
    "editbench_work_dir",
    "format_temperature",
    "jsonl_stem",
    "rollout_processed",
    "rollout_processed_tests",
    "rollout_sample",
    "rollout_step_file",
    "sample_files",
    "stage_record",
]

MANIFEST = "manifest.json"
PREDICTIONS = "predictions.jsonl"


def stage_record(stage: str) -> str:
    """The record of a finished stage of a run (what it wrote, its counts); its presence means "done"."""
    return f"stages/{safe_component(stage, what='stage name')}.json"


# -- Samples (every workflow): the sample table, the selection record, per-sample predictions ---------------
@dataclass(frozen=True)
class SampleFiles:
    """The sample files of one stage's outputs, all starting with ``prefix`` (a folder or a file-name stem)."""

    prefix: str = ""

    @property
    def table(self) -> str:
        """One line per sample: ``samples.jsonl``."""
        return f"{self.prefix}samples.jsonl"

    @property
    def selection(self) -> str:
        """One line per instance, why its prediction is the sample it is: ``selection.jsonl``."""
        return f"{self.prefix}selection.jsonl"

    @property
    def predictions(self) -> str:
        """The selected sample of each instance, for the SWE-bench harness: ``predictions.jsonl``."""
        return f"{self.prefix}{PREDICTIONS}"

    @property
    def per_sample_folder(self) -> str:
        """The folder of the per-sample predictions files."""
        return f"{self.prefix}predictions"

    def per_sample(self, sample: int) -> str:
        """Predictions of sample index ``sample`` for every instance (pass@k): ``predictions/sample_{i}.jsonl``."""
        return f"{self.per_sample_folder}/sample_{int(sample)}.jsonl"

    def sample_of(self, name: str) -> int | None:
        """The sample index of a per-sample predictions file name (None for any other name)."""
        stem = name.removeprefix(self.per_sample_folder + "/sample_").removesuffix(".jsonl")
        return int(stem) if stem.isdigit() and name.startswith(self.per_sample_folder + "/") else None


def sample_files() -> SampleFiles:
    """The sample files of a run folder (Agentless ``--output_folder``, rollout ``--save_dir``)."""
    return SampleFiles()


# -- Agentless repair (SPEC §3): all inside --output_folder -------------------------------------------
AGENTLESS_REQUESTS = "requests-repair.jsonl"
"""The repair request file written by ``--batch_gen``."""


AGENTLESS_RESPONSES = "responses-repair.jsonl"
"""The responses to the repair requests when a run's inference stage writes them."""


AGENTLESS_OUTPUT = "output.jsonl"
"""One raw record per instance."""


def agentless_processed(sample: int) -> str:
    """Processed patches of sample ``sample`` (0 = greedy)."""
    return f"output_{int(sample)}_processed.jsonl"


def agentless_normalized(sample: int) -> str:
    """Processed patches of sample ``sample`` with their ``normalized_patch`` (the original's rerank input)."""
    return f"output_{int(sample)}_normalized.jsonl"


def agentless_resample_requests(round_number: int) -> str:
    """Requests of resampling round ``round_number`` (from 1): new samples for instances without a valid one."""
    if round_number < 1:
        raise InputError(f"no resampling round {round_number}: rounds count from 1")
    return f"requests-resample-{int(round_number)}.jsonl"


AGENTLESS_ARGS = "args.json"
"""The arguments the run was made with."""


AGENTLESS_USED_LOCS = "used_locs.jsonl"
"""The locations each prompt was built from."""


def agentless_log(instance_id: str) -> str:
    """The per-instance processing log (an unusual or long id gets a bounded name, see ``item_file_name``)."""
    return f"repair_logs/{item_file_name(instance_id, suffix='.log')}"


# -- BugFixer / TestWriter rollouts (SPEC §4): inside --save_dir --------------------------------------
_STEP_FILES = {
    ("requests", 1): "batch_requests_step1.jsonl",
    ("output", 1): "batch_output_step1.jsonl",
    ("requests", 2): "batch_requests_step2.jsonl",
    ("output", 2): "batch_output_step2.jsonl",
}


def rollout_step_file(kind: str, step: int) -> str:
    """Default names of the step files: ``kind`` is ``requests`` or ``output``, ``step`` 1 or 2."""
    try:
        return _STEP_FILES[(kind, step)]
    except KeyError:
        raise InputError(f"no rollout step file for {kind!r} of step {step}") from None


def rollout_sample(custom_id: str) -> str:
    """The per-sample record ``samples/{custom_id}.jsonl`` (an unusual or long id: see ``item_file_name``)."""
    return f"samples/{item_file_name(custom_id, suffix='.jsonl')}"


def rollout_processed(k: int) -> str:
    """BugFixer patches of pass ``k``."""
    return f"output_{int(k)}_processed.jsonl"


def rollout_processed_tests(k: int) -> str:
    """TestWriter reproduction tests of pass ``k``."""
    return f"output_{int(k)}_processed_reproduction_test.jsonl"


ROLLOUT_OUTPUT = "output.jsonl"
"""Every pass of every instance."""


ROLLOUT_FAILURES = "failures.jsonl"
"""TestWriter failure records (status, reason, custom_id)."""


# -- EditBench (SPEC §5): below the project root --------------------------------------------------------
def format_temperature(temperature: float) -> str:
    """Temperature as the EditBench layout writes it: ``0``, ``1``, ``0.8`` (never ``0.0``)."""
    value = float(temperature)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"temperature must be a finite number >= 0, got {temperature!r}")
    return str(int(value)) if value.is_integer() else repr(value)


def editbench_result_dir(model: str, temperature: float, n: int) -> str:
    """``experiment_results/{model}/T={temperature}/n={n}``; a model name may contain ``/``."""
    return f"experiment_results/{safe_relpath(model, what='model name')}/T={format_temperature(temperature)}/n={int(n)}"


def editbench_result(model: str, temperature: float, n: int, dataset_stem: str) -> str:
    """The result file of one model on one infbench file (with ``.jsonl``, unlike the original)."""
    stem = safe_component(dataset_stem, what="dataset name")
    return f"{editbench_result_dir(model, temperature, n)}/{stem}.jsonl"


def editbench_sample_files(model: str, temperature: float, n: int, dataset_stem: str) -> SampleFiles:
    """The sample files of one result file, in ``samples/`` beside it (``{stem}.samples.jsonl``,
    ``{stem}.selection.jsonl``, ...), so readers of the result folder see only result files."""
    stem = safe_component(dataset_stem, what="dataset name")
    return SampleFiles(f"{editbench_result_dir(model, temperature, n)}/samples/{stem}.")


def editbench_dataset_name(name: str) -> str:
    """``all`` stays ``all``; ``owner/repo`` becomes ``owner-repo`` as in the bench file names."""
    return safe_component(name.replace("/", "-"), what="dataset name")


def editbench_infbench(name: str, run_id: str) -> str:
    """``crawled_data/infbench/{name}-task-instances_{run_id}.jsonl``."""
    run = safe_component(run_id, what="run id")
    return f"crawled_data/infbench/{editbench_dataset_name(name)}-task-instances_{run}.jsonl"


def jsonl_stem(name: str) -> str:
    """A file's name without its folder and ``.jsonl``: ``crawled_data/infbench/all-x_0.2.jsonl`` → ``all-x_0.2``."""
    return name.rsplit("/", 1)[-1].removesuffix(".jsonl")


def editbench_work_dir(infbench: str, model: str) -> str:
    """The round files of one (infbench file, model) run: ``.patchline/editbench/{infbench stem}/{model}``."""
    stem = safe_component(jsonl_stem(infbench), what="dataset name")
    return f".patchline/editbench/{stem}/{safe_relpath(model, what='model name')}"


def editbench_round(work_dir: str, number: int, kind: str) -> str:
    """``{work_dir}/round-{number}-{kind}.jsonl``, kind ``requests`` or ``responses``."""
    if kind not in ("requests", "responses") or number < 0:
        raise InputError(f"no round file {kind!r} of round {number}")
    return f"{work_dir}/round-{number}-{kind}.jsonl"
