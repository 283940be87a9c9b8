"""The command line's entry point: every group listed, only the group a command names imported."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from patchline.cli.app import GROUPS, CommandGroup, main

pytestmark = pytest.mark.unit


def test_help_lists_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert all(group.name in out for group in GROUPS)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_every_group_registers_its_commands(group: CommandGroup) -> None:
    parser = argparse.ArgumentParser(prog=group.name)
    group.load()(parser)
    assert len(parser._actions) > 1, f"{group.module} registered nothing beyond --help"


def test_a_command_imports_only_its_group() -> None:
    probe = (
        "import sys\n"
        "from patchline.cli.app import build_parser\n"
        "args = build_parser(['infer', 'run', '--input', 'a', '--output', 'b', '--url', 'http://h:1'])"
        ".parse_args(['infer', 'run', '--input', 'a', '--output', 'b', '--url', 'http://h:1'])\n"
        "print(args.handler.__module__, 'patchline.cli.editbench' in sys.modules, 'scipy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["patchline.cli.infer", "False", "False"]


def test_unknown_group_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["nonsense"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
