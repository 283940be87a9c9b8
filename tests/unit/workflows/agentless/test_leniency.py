"""Default mode names each leniency a patch needed; compat mode reads as the original and names none."""

from __future__ import annotations

import pytest

from patchline.workflows.agentless.context import FileSegment, InstanceContext
from patchline.workflows.agentless.leniency import LENIENCIES
from patchline.workflows.agentless.responses import SampleAnswer
from patchline.workflows.agentless.sample import patch_sample

pytestmark = pytest.mark.unit

FILE = "import os\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 2\n"
OTHER = "x = 1\ny = 2\n"
EDIT = "### m.py\n<<<<<<< SEARCH\ndef f():\n    return 1\n=======\ndef f():\n    return 10\n>>>>>>> REPLACE"


def _patch(answer: str, *, compat: bool = False) -> tuple[list[str], list[str]]:
    files = [FileSegment("m.py", FILE, ((1, 9),)), FileSegment("o.py", OTHER, ((1, 2),))]
    if compat:
        files = [FileSegment(s.path, s.content.removesuffix("\n"), s.ranges) for s in files]
    result = patch_sample(SampleAnswer(0, answer, "", {}, ""), InstanceContext(files=files), compat=compat)
    return result.leniency, result.files.paths


@pytest.mark.parametrize(
    ("answer", "labels"),
    [
        (f"```python\n{EDIT}\n```", []),
        (f"Fix:\n{EDIT}\n", ["outside_python_fence"]),
        (f"```\n{EDIT}\n```", ["outside_python_fence"]),
        (f"```python\n{EDIT.replace('return 10', 'return 10' + chr(10) + chr(10))}\n```", ["trailing_whitespace_kept"]),
        ("```python\n### m.py\n<<<<<<< SEARCH\nimport os\n=======\n>>>>>>> REPLACE\n```", ["empty_replace"]),
        (f"```python\n{EDIT.replace('=======', '======= ')}\n```", ["lenient_markers"]),
        (f"```python\n{EDIT.replace('### m.py', '### `m.py`')}\n```", ["lenient_markers"]),
        (
            f"```python\n{EDIT}\n### o.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 3\n>>>>>>> REPLACE\n```",
            ["other_files"],
        ),
    ],
)
def test_each_leniency_is_named(answer: str, labels: list[str]) -> None:
    leniency, edited = _patch(answer)
    assert leniency == labels and edited
    assert set(leniency) <= set(LENIENCIES)
    assert _patch(answer, compat=True)[0] == []  # compat reads as the original: nothing to name


def test_compat_does_not_read_what_only_default_mode_reads() -> None:
    assert _patch(f"Fix:\n{EDIT}\n", compat=True)[1] == []
    assert _patch(f"```python\n{EDIT}\n```", compat=True)[1] == ["m.py"]
