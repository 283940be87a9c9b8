"""``patchline samples report``: per instance and overall, how the samples of a stage look and how the vote went.

Read from the sample table and the selection file beside it (streamed; per instance only counters and the
set of distinct normal forms are kept): distinct normalised patches, the share of valid samples, the
agreement of the vote (the chosen form's votes over all votes), and tokens per valid patch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from patchline.core.errors import ArtifactNotFoundError
from patchline.core.jsonl import LineReport
from patchline.core.layout import SampleFiles
from patchline.core.samples import SampleRecord, SelectionRecord, iter_sample_records, iter_selection_records
from patchline.core.store import ArtifactStore

__all__ = ["InstanceReport", "SamplesReport", "build_report", "locate_sample_files"]


@dataclass
class InstanceReport:
    """One instance's samples in numbers."""

    instance_id: str
    samples: int = 0
    valid: int = 0
    with_patch: int = 0
    distinct_patches: int = 0
    tokens: int = 0
    rounds: int = 0
    strategy: str = ""
    chosen_sample: int | None = None
    agreement: float | None = None  # the chosen form's votes / all votes counted
    _forms: set[str] = field(default_factory=set, repr=False)

    @property
    def valid_share(self) -> float:
        """Valid samples over all samples."""
        return self.valid / self.samples if self.samples else 0.0

    @property
    def tokens_per_valid_patch(self) -> float | None:
        """Tokens the instance's samples used, per valid patch (None without one)."""
        return self.tokens / self.valid if self.valid else None

    def add(self, row: SampleRecord) -> None:
        """Count one sample."""
        self.samples += 1
        self.valid += int(row.valid)
        self.with_patch += int(bool(row.model_patch))
        self.tokens += row.tokens
        self.rounds = max(self.rounds, row.round)
        if row.normalized_hash:
            self._forms.add(row.normalized_hash)
        self.distinct_patches = len(self._forms)

    def chosen(self, record: SelectionRecord) -> None:
        """Take the instance's selection record."""
        self.strategy, self.chosen_sample = record.strategy, record.chosen_sample
        counted = sum(v.votes for v in record.votes)
        winner = next((v.votes for v in record.votes if v.normalized_hash == record.normalized_hash), 0)
        self.agreement = winner / counted if counted and record.chosen_sample is not None else None

    def as_dict(self) -> dict[str, object]:
        """The JSON form (derived figures included)."""
        values = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        return {**values, "valid_share": self.valid_share, "tokens_per_valid_patch": self.tokens_per_valid_patch}


@dataclass
class SamplesReport:
    """Every instance's figures and the overall ones."""

    table: str
    instances: list[InstanceReport]
    bad_lines: int = 0

    def overall(self) -> dict[str, object]:
        """Totals and means over the instances."""
        samples = sum(i.samples for i in self.instances)
        valid = sum(i.valid for i in self.instances)
        tokens = sum(i.tokens for i in self.instances)
        agreements = [i.agreement for i in self.instances if i.agreement is not None]
        count = len(self.instances)
        return {
            "instances": count,
            "samples": samples,
            "valid_share": valid / samples if samples else 0.0,
            "instances_with_a_valid_sample": sum(1 for i in self.instances if i.valid),
            "mean_distinct_patches": sum(i.distinct_patches for i in self.instances) / count if count else 0.0,
            "mean_agreement": sum(agreements) / len(agreements) if agreements else None,
            "tokens_per_valid_patch": tokens / valid if valid else None,
            "predictions_with_a_patch": sum(1 for i in self.instances if i.chosen_sample is not None),
            "resampled_instances": sum(1 for i in self.instances if i.rounds),
        }

    def as_dict(self) -> dict[str, object]:
        """The JSON form of the whole report."""
        return {
            "table": self.table,
            "overall": self.overall(),
            "instances": [i.as_dict() for i in self.instances],
            "bad_lines": self.bad_lines,
        }

    def lines(self) -> Iterable[str]:
        """The text form: one line per instance, then the overall figures."""
        yield f"{'instance':<40} {'samples':>7} {'valid':>6} {'distinct':>8} {'agree':>6} {'tok/valid':>10} chosen"
        for i in self.instances:
            agree = f"{i.agreement:.2f}" if i.agreement is not None else "-"
            per_valid = f"{i.tokens_per_valid_patch:.0f}" if i.tokens_per_valid_patch is not None else "-"
            chosen = "-" if i.chosen_sample is None else str(i.chosen_sample)
            yield (
                f"{i.instance_id[:40]:<40} {i.samples:>7} {i.valid_share:>6.0%} {i.distinct_patches:>8} {agree:>6} "
                f"{per_valid:>10} {chosen}"
            )
        for key, value in self.overall().items():
            shown = f"{value:.3f}" if isinstance(value, float) else ("-" if value is None else str(value))
            yield f"{key}: {shown}"
        if self.bad_lines:
            yield f"unreadable lines skipped: {self.bad_lines}"


def locate_sample_files(store: ArtifactStore, name: str) -> SampleFiles:
    """The sample files a user named: a run folder (its ``samples.jsonl``) or a ``*samples.jsonl`` file."""
    if name.endswith("samples.jsonl") and store.exists(name):
        return SampleFiles(name.removesuffix("samples.jsonl"))
    folder = SampleFiles(f"{name.rstrip('/')}/" if name else "")
    if store.exists(folder.table):
        return folder
    raise ArtifactNotFoundError(f"{store.uri(name) if name else store.root}: no sample table (samples.jsonl) there")


def build_report(store: ArtifactStore, files: SampleFiles) -> SamplesReport:
    """Read a sample table and its selection file (when there) into a report."""
    report = LineReport()
    instances: dict[str, InstanceReport] = {}
    for row in iter_sample_records(store, files.table, report=report):
        instances.setdefault(row.instance_id, InstanceReport(row.instance_id)).add(row)
    if store.exists(files.selection):
        for record in iter_selection_records(store, files.selection, report=report):
            if record.instance_id in instances:
                instances[record.instance_id].chosen(record)
    return SamplesReport(store.uri(files.table), list(instances.values()), bad_lines=len(report))
