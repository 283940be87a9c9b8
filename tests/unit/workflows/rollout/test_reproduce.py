"""reproduce_bug.py: absolute imports without losing comments, the __main__ block, the new-file patch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from patchline.workflows.rollout.reproduce import (
    ERROR_GUARD,
    absolutize_imports,
    has_main_block,
    make_reproduce_script,
    new_file_patch,
    new_test_function,
)

pytestmark = pytest.mark.unit

SOURCE = '''"""Docstring."""
# leading comment
import os
from . import helpers  # why this import
from .. import core
from ..core.basic import (  # a comment inside
    Basic,
    Atom,
)
from .sub \\
    import thing


class TestThing:
    def test_method(self):
        from .local import x  # nested relative import
        assert x


def test_top():  # keep
    s = "from . import not_an_import"
    assert s
'''


def test_relative_imports_become_absolute_and_text_survives() -> None:
    result = absolutize_imports(SOURCE, "sympy/core/tests/test_thing.py")
    assert "from sympy.core.tests import helpers  # why this import" in result
    assert "from sympy.core import core" in result
    assert "from sympy.core.core.basic import (  # a comment inside\n    Basic,\n    Atom,\n)" in result
    assert "from sympy.core.tests.sub \\\n    import thing" in result
    assert "        from sympy.core.tests.local import x  # nested relative import" in result
    assert 's = "from . import not_an_import"' in result
    assert result.count("\n") == SOURCE.count("\n")
    assert "# leading comment" in result and '"""Docstring."""' in result


def test_src_layout_and_too_many_levels() -> None:
    assert absolutize_imports("from . import a\n", "src/_pytest/x.py") == "from _pytest import a\n"
    assert absolutize_imports("from .... import a\n", "pkg/x.py") == "from .... import a\n"
    assert (
        absolutize_imports("def broken(:\n    from . import a\n", "pkg/x.py") == "def broken(:\n    from . import a\n"
    )


def test_non_ascii_columns() -> None:
    source = 'x = "é"; from . import a\n'
    assert absolutize_imports(source, "pkg/m.py") == 'x = "é"; from pkg import a\n'


def test_main_block_added_once() -> None:
    script = make_reproduce_script(SOURCE, "pkg/tests/test_thing.py", node_id="test_top")
    assert has_main_block(script)
    assert script.count('if __name__ == "__main__":') == 1
    assert '"::test_top"' in script
    for line in ("Issue reproduced", "Issue resolved", "Other issues"):
        assert f'print("{line}")' in script
    again = make_reproduce_script(script, "pkg/tests/test_thing.py")
    assert again == script
    existing = "def test_a():\n    pass\n\nif '__main__' == __name__:\n    test_a()\n"
    assert make_reproduce_script(existing, "t.py") == existing


def test_new_test_function_prefers_added_then_changed() -> None:
    old = "def test_a():\n    pass\n\nclass TestB:\n    def test_b(self):\n        pass\n"
    added = old + "\ndef test_new():\n    assert 1\n"
    assert new_test_function(old, added) == "test_new"
    changed = old.replace("        pass", "        assert 2")
    assert new_test_function(old, changed) == "TestB::test_b"
    assert new_test_function(old, old) is None


def test_new_file_patch_headers() -> None:
    patch = new_file_patch("print(1)\n")
    assert patch.startswith("diff --git a/reproduce_bug.py b/reproduce_bug.py\nnew file mode 100644\n")
    assert "--- /dev/null\n+++ b/reproduce_bug.py\n@@ -0,0 +1 @@\n+print(1)\n" in patch


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ("import a_module_the_bug_removed\n\n\ndef test_x():\n    assert True\n", "Other issues"),
        ("def test_x():\n    assert 1 + 1 == 3\n", "Issue reproduced"),
        ("def test_x():\n    assert True\n", "Issue resolved"),
    ],
)
def test_script_always_ends_with_an_outcome_line(tmp_path: Path, body: str, outcome: str) -> None:
    source = '"""Tests of the bug."""\nfrom __future__ import annotations\n\n' + body
    script = make_reproduce_script(source, "pkg/tests/test_bug.py", node_id="test_x")
    assert script.startswith('"""Tests of the bug."""\nfrom __future__ import annotations\n\nimport sys as _reproduce')
    assert script.count(ERROR_GUARD) == 1
    (tmp_path / "reproduce_bug.py").write_text(script)
    done = subprocess.run(
        [sys.executable, "reproduce_bug.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == outcome
