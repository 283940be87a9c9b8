"""render_file_diff / render_patch produce git's bytes; blob ids are git's; every rendered diff parses."""

from __future__ import annotations

import random
import re

import pytest
from unidiff import PatchSet

from patchline.core.errors import UnsafePathError
from patchline.edits import DiffRenderError, apply_unified_diff, git_blob_id, render_file_diff, render_patch
from patchline.edits.diff import check_parses
from tests.unit.edits.corpus import real_python_files

pytestmark = pytest.mark.unit

# `git diff --cached --full-index` (git 2.39, no config) of exactly these changes, minus its
# "\ No newline at end of file" lines, which patchline never writes.
GIT_OUTPUT = """\
diff --git a/del.py b/del.py
deleted file mode 100644
index cd497049550637a03c4a0c6c508306a10f9193a2..0000000000000000000000000000000000000000
--- a/del.py
+++ /dev/null
@@ -1,2 +0,0 @@
-gone
-also
diff --git a/empty.py b/empty.py
new file mode 100644
index 0000000000000000000000000000000000000000..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391
diff --git a/hunks.py b/hunks.py
index 86bba901de6526d849fcca3181beda8cdd68551e..ea54ba0bc9c091b6c2e613a090fd72e0c061ba0b 100644
--- a/hunks.py
+++ b/hunks.py
@@ -1,4 +1,4 @@
-l1
+L1
 l2
 l3
 l4
@@ -6,7 +6,7 @@ l5
 l6
 l7
 l8
-l9
+L9
 l10
 l11
 l12
@@ -15,6 +15,6 @@ l14
 l15
 l16
 l17
-l18
+L18
 l19
 l20
diff --git a/new.py b/new.py
new file mode 100644
index 0000000000000000000000000000000000000000..3e757656cf36eca53338e520d134963a44f793f8
--- /dev/null
+++ b/new.py
@@ -0,0 +1 @@
+new
diff --git a/nonl.py b/nonl.py
index 20cbb4d89224e1ed724b7feaf5c4f4479e25212a..6fe2aa3c3c906540b7147417de722bd70382f382 100644
--- a/nonl.py
+++ b/nonl.py
@@ -1 +1 @@
-no newline
+no newline!
diff --git a/one.py b/one.py
index de980441c3ab03a8c07dda1ad27b8a11f39deb1e..7be73ce3c1b1cdaea86e8168dfee8575175953bf 100644
--- a/one.py
+++ b/one.py
@@ -1,3 +1,3 @@
 a
-b
+B
 c
diff --git a/single.py b/single.py
index 587be6b4c3f93f93c489c0111bba5596147a26cb..975fbec8256d3e8a3797e7a3611380f27c49f4ac 100644
--- a/single.py
+++ b/single.py
@@ -1 +1 @@
-x
+y
"""

NUMBERED = "".join(f"l{n}\n" for n in range(1, 21))
CHANGES: dict[str, tuple[str | None, str | None]] = {
    "one.py": ("a\nb\nc\n", "a\nB\nc\n"),
    "single.py": ("x\n", "y\n"),
    "del.py": ("gone\nalso\n", None),
    "hunks.py": (NUMBERED, NUMBERED.replace("l1\n", "L1\n", 1).replace("l9\n", "L9\n").replace("l18\n", "L18\n")),
    "new.py": (None, "new\n"),
    "nonl.py": ("no newline", "no newline!"),
    "empty.py": (None, ""),
}


def test_render_patch_is_byte_identical_to_git() -> None:
    assert render_patch(CHANGES, with_index=True, section_headings=True) == GIT_OUTPUT


def test_without_index_and_headings() -> None:
    expected = "".join(line for line in GIT_OUTPUT.splitlines(True) if not line.startswith("index "))
    expected = re.sub(r"(?m)^(@@ [^@]+ @@) .*$", r"\1", expected)
    assert render_patch(CHANGES) == expected


def test_git_blob_ids() -> None:
    assert git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_unchanged_content_renders_nothing() -> None:
    assert render_file_diff("a.py", "x\n", "x\n") == ""
    assert render_file_diff("a.py", None, None) == ""
    assert render_patch({}) == ""


def test_missing_final_newline_is_rendered_with_one_and_applies_to_a_file_with_one() -> None:
    rendered = render_file_diff("a.py", "a\nb", "a\nc")
    assert "\\ No newline" not in rendered
    assert rendered.endswith("-b\n+c\n")
    assert apply_unified_diff({"a.py": "a\nb"}, rendered)["a.py"] == "a\nc\n"


def test_heading_is_the_nearest_definition_line_above_the_hunk() -> None:
    old = "import os\n\n\nclass Thing:\n" + "".join(f"    x{n} = {n}\n" for n in range(10))
    new = old.replace("x8 = 8", "x8 = 80")
    rendered = render_file_diff("t.py", old, new, section_headings=True)
    assert "@@ -10,5 +10,5 @@ class Thing:\n" in rendered
    long = "def " + "a" * 100 + "():\n" + "".join(f"    y{n}\n" for n in range(8))
    header = render_file_diff("l.py", long, long.replace("y6", "z6"), section_headings=True).splitlines()[3]
    assert header == "@@ -5,5 +5,5 @@ def " + "a" * 76  # git keeps 80 bytes of the heading line


@pytest.mark.parametrize("path", ["", "../x.py", "/abs.py", "a/../../x.py", "bad\npath.py", "nul\x00.py"])
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(UnsafePathError):
        render_file_diff(path, "a\n", "b\n")


def test_a_diff_that_does_not_parse_back_raises() -> None:
    check_parses(render_file_diff("ok.py", "a\n", "b\n"), "ok.py")
    with pytest.raises(DiffRenderError):
        check_parses("--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n-a\n", "x")


def test_random_edits_of_real_files_render_diffs_that_parse_and_apply() -> None:
    rng = random.Random(1)
    checked = 0
    for name, text in real_python_files(80, seed=2):
        lines = text.splitlines(keepends=True)
        for _ in range(3):
            edited = list(lines)
            for _ in range(rng.randint(1, 6)):
                at = rng.randint(0, len(edited))
                if rng.random() < 0.5 and edited:
                    del edited[min(at, len(edited) - 1)]
                else:
                    edited.insert(at, f"# inserted {rng.random()}\n")
            new = "".join(edited)
            rendered = render_file_diff(name, text, new, with_index=True)
            if text == new:
                assert rendered == ""
                continue
            patched = PatchSet(rendered)[0]
            assert patched.path == name
            result = apply_unified_diff({name: text}, rendered)[name]
            assert result == (new if new.endswith("\n") or not new else new + "\n")
            checked += 1
    assert checked >= 150


def test_an_emptied_file_stays_a_file_and_only_a_deletion_removes_it() -> None:
    old = "x = 1\ny = 2\n"
    emptied = render_file_diff("pkg/a.py", old, "", with_index=True)
    assert "+++ b/pkg/a.py" in emptied and "@@ -1,2 +0,0 @@" in emptied  # git's rendering of an emptied file
    assert apply_unified_diff({"pkg/a.py": old}, emptied) == {"pkg/a.py": ""}
    deletion = "--- a/pkg/a.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x = 1\n-y = 2\n"
    assert apply_unified_diff({"pkg/a.py": old}, deletion) == {"pkg/a.py": None}
