"""EditBench prompt text: line-numbered code blocks, history steps, the three prompt styles, overflow shrinking.

Code blocks are ``[start of path]``, the file's lines as ``N text``, ``[end of path]``; history steps are
``[start of step i]`` ... ``[end of step i]``. The style follows what is present: requirement and
history, requirement only, or history only. The first line of every template is the system message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from patchline.core.errors import InputError
from patchline.workflows.templates import PromptTemplate, load_template

__all__ = [
    "HALVE_MIN_LINES",
    "PromptTemplates",
    "code_block",
    "code_context_files",
    "number_lines",
    "render_code_context",
    "render_history",
    "render_prompt",
    "shrink_code_context",
    "split_system",
]

_PACKAGE = "patchline.workflows.editbench"
# A single file is halved on context overflow only when it has at least this many lines.
HALVE_MIN_LINES = 2000

_CODE_SECTION = re.compile(r"<code>\n(.*?)\n</code>", re.DOTALL)
_NUMBER = re.compile(r"^\d+ ")
_FILE_BLOCK = re.compile(r"\[start of ([^\]\n]+)\]\n(.*?)\n\[end of \1\]", re.DOTALL)


@dataclass(frozen=True)
class PromptTemplates:
    """The three prompt styles (shipped files, or a user's folder holding files of the same names)."""

    full: PromptTemplate
    requirement_only: PromptTemplate
    history_only: PromptTemplate

    @classmethod
    def load(cls, folder: str | None = None) -> PromptTemplates:
        """The shipped templates, or a user's folder with full.txt, requirement_only.txt and history_only.txt."""
        return cls(
            full=load_template(_PACKAGE, "full.txt", override=folder),
            requirement_only=load_template(_PACKAGE, "requirement_only.txt", override=folder),
            history_only=load_template(_PACKAGE, "history_only.txt", override=folder),
        )


def number_lines(text: str) -> str:
    """``text`` with each line prefixed by its 1-based number and a space."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return "\n".join(f"{number} {line}" for number, line in enumerate(lines, start=1))


def code_block(path: str, text: str) -> str:
    """One file of the code context."""
    return f"[start of {path}]\n{number_lines(text)}\n[end of {path}]"


def render_code_context(files: Mapping[str, str]) -> str:
    """Every file as a code block, in the mapping's order."""
    return "\n".join(code_block(path, text) for path, text in files.items())


def code_context_files(prompt: str) -> dict[str, str]:
    """The files of a prompt's code context, as they were before numbering (inverse of :func:`render_code_context`).

    A file cut by :func:`shrink_code_context` comes back cut. Lines are taken as ending with a newline
    (numbering does not show whether the file's last line had one).
    """
    section = _CODE_SECTION.search(prompt)
    if section is None:
        return {}
    files: dict[str, str] = {}
    for block in _FILE_BLOCK.finditer(section.group(1)):
        lines = [_NUMBER.sub("", line, count=1) for line in block.group(2).split("\n")]
        files[block.group(1)] = "".join(line + "\n" for line in lines)
    return files


def render_history(pre_edits: Sequence[str]) -> str:
    """The history steps, numbered from 1."""
    return "\n".join(f"[start of step {i}]\n{step}\n[end of step {i}]" for i, step in enumerate(pre_edits, start=1))


def render_prompt(
    templates: PromptTemplates, *, requirement: str, files: Mapping[str, str], pre_edits: Sequence[str]
) -> str:
    """The prompt in the style that fits what is present; neither requirement nor history is an error."""
    values = {
        "code_context": render_code_context(files),
        "requirement": requirement,
        "history": render_history(pre_edits),
    }
    if requirement.strip() and pre_edits:
        return templates.full.render(**values)
    if requirement.strip():
        return templates.requirement_only.render(**values)
    if pre_edits:
        return templates.history_only.render(**values)
    raise InputError("no requirement text and no history: nothing to ask for")


def split_system(prompt: str) -> tuple[str, str]:
    """``(system message, user message)``: the first line, and the rest."""
    system, _, user = prompt.partition("\n")
    return system, user


def shrink_code_context(prompt: str) -> str | None:
    """The prompt with less code after a context overflow, or None when nothing can be taken away.

    Several files: the last one is dropped. One file of ``HALVE_MIN_LINES`` lines or more: its second
    half is dropped (line numbers of the kept half are unchanged).
    """
    section = _CODE_SECTION.search(prompt)
    if section is None:
        return None
    blocks = list(_FILE_BLOCK.finditer(section.group(1)))
    if len(blocks) > 1:
        kept = section.group(1)[: blocks[-1].start()].rstrip("\n")
    elif len(blocks) == 1:
        path, body = blocks[0].group(1), blocks[0].group(2)
        lines = body.split("\n")
        if len(lines) < HALVE_MIN_LINES:
            return None
        kept = f"[start of {path}]\n" + "\n".join(lines[: len(lines) // 2]) + f"\n[end of {path}]"
    else:
        return None
    return prompt[: section.start(1)] + kept + prompt[section.end(1) :]
