"""Recovery of messy model diffs on a corpus of real shapes, each checked against its expected file and ``git apply``.

The generated part damages real EditBench step diffs (:mod:`tests.unit.edits.messy_diffs`); the hand-written
part is model-shaped answers against ``rank_bm25.py`` as pinned in the dev extra. Strict handling is kept
as the default: the strict path is measured beside recovery, never replaced by it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import rank_bm25

from patchline.edits import PatchApplyError, apply_unified_diff, check_patch, extract_model_patch
from patchline.edits.recovery import recover_model_patch

from ...unit.edits.messy_diffs import MessyCase, messy_cases

pytestmark = pytest.mark.integration

BM25_PATH = "rank_bm25.py"
BM25 = Path(rank_bm25.__file__).read_text(encoding="utf-8")


def _git_apply(tmp_path: Path, files: dict[str, str], diff: str, path: str) -> str:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(text.encode("utf-8"))
    (repo / "model.patch").write_bytes(diff.encode("utf-8"))
    done = subprocess.run(["git", "apply", "model.patch"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return (repo / path).read_bytes().decode("utf-8")


def _strict_result(case: MessyCase) -> str | None:
    try:
        return apply_unified_diff(case.files, extract_model_patch(case.answer)).get(case.path)
    except PatchApplyError:
        return None


HAND_WRITTEN = [
    (
        "numberless hunk in a patch tag",
        "<patch>\n--- a/rank_bm25.py\n+++ b/rank_bm25.py\n@@\n         self.avgdl = num_doc / self.corpus_size\n"
        "-        return nd\n+        return dict(nd)\n \n     def _tokenize_corpus(self, corpus):\n</patch>",
        BM25.replace("        return nd\n\n    def _tokenize", "        return dict(nd)\n\n    def _tokenize", 1),
    ),
    (
        "absolute path, miscounted, start off by forty",
        "```diff\n--- /home/dev/bm25/rank_bm25.py\n+++ /home/dev/bm25/rank_bm25.py\n@@ -70,9 +70,9 @@\n"
        "     def _tokenize_corpus(self, corpus):\n-        pool = Pool(cpu_count())\n"
        "+        pool = Pool(max(cpu_count() - 1, 1))\n"
        "         tokenized_corpus = pool.map(self.tokenizer, corpus)\n```",
        BM25.replace("        pool = Pool(cpu_count())", "        pool = Pool(max(cpu_count() - 1, 1))", 1),
    ),
    (
        "context markers lost, prose after the fence",
        "I will guard the empty corpus.\n```\n--- a/rank_bm25.py\n+++ b/rank_bm25.py\n@@ -50,4 +50,6 @@\n"
        "             self.corpus_size += 1\n\n+        if not self.corpus_size:\n"
        "+            raise ValueError('empty corpus')\n"
        "        self.avgdl = num_doc / self.corpus_size\n        return nd\n```\nThat is all.",
        BM25.replace(
            "            self.corpus_size += 1\n\n        self.avgdl",
            "            self.corpus_size += 1\n\n        if not self.corpus_size:\n"
            "            raise ValueError('empty corpus')\n        self.avgdl",
            1,
        ),
    ),
]


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> list[MessyCase]:
    cases = messy_cases(shared_data)
    cases += [
        MessyCase(f"hand:{name}", {BM25_PATH: BM25}, answer, BM25_PATH, expected)
        for name, answer, expected in HAND_WRITTEN
    ]
    return cases


def test_the_corpus_is_a_few_dozen_real_shapes(corpus: list[MessyCase]) -> None:
    assert len(corpus) >= 36
    assert sum(1 for case in corpus if _strict_result(case) == case.expected) < len(corpus) * 3 // 4


def test_every_messy_diff_is_recovered_to_its_expected_file(corpus: list[MessyCase], tmp_path: Path) -> None:
    for number, case in enumerate(corpus):
        recovered = recover_model_patch(case.answer, case.files)
        assert recovered.applies, (case.name, recovered.reason, recovered.unresolved)
        assert recovered.repairs or _strict_result(case) == case.expected, case.name
        assert apply_unified_diff(case.files, recovered.diff)[case.path] == case.expected, case.name
        assert _git_apply(tmp_path / str(number), case.files, recovered.diff, case.path) == case.expected, case.name
        assert check_patch(case.files, recovered.diff).applies


def test_a_clean_diff_is_left_byte_for_byte(corpus: list[MessyCase], shared_data: Path) -> None:
    clean = messy_cases(shared_data, per_damage=1)[0]
    diff = extract_model_patch(clean.answer)
    recovered = recover_model_patch(f"```diff\n{diff}```", clean.files)
    assert recovered.repairs == [] and recovered.diff == diff and recovered.applies


def test_an_ambiguous_or_missing_place_is_refused_not_guessed() -> None:
    twice = "def f():\n    return 1\n" + "x = 0\n" * 20 + "def f():\n    return 1\n" + "y = 1\n"
    # stated at line 12: both copies of the hunk's old lines are 11 lines away
    answer = "```diff\n--- a/m.py\n+++ b/m.py\n@@ -12,2 +12,2 @@\n def f():\n-    return 1\n+    return 2\n```"
    recovered = recover_model_patch(answer, {"m.py": twice})
    assert recovered.unresolved and not recovered.applies
    invented = "```diff\n--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def g():\n-    return 7\n+    return 8\n```"
    recovered = recover_model_patch(invented, {"m.py": twice})
    assert recovered.unresolved and not recovered.applies


def test_the_final_newline_survives_a_bogus_marker() -> None:
    answer = (
        "```diff\n--- a/rank_bm25.py\n+++ b/rank_bm25.py\n@@ -1,3 +1,3 @@\n #!/usr/bin/env python\n \n"
        "-import math\n+import math  # noqa\n\\ No newline at end of file\n```"
    )
    recovered = recover_model_patch(answer, {BM25_PATH: BM25})
    assert "final_newline_kept" in recovered.repairs and recovered.applies
    assert apply_unified_diff({BM25_PATH: BM25}, recovered.diff)[BM25_PATH] == BM25.replace(
        "import math\n", "import math  # noqa\n", 1
    )
