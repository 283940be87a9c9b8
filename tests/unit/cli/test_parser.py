"""Flag spellings and global options, for every command at once (the rule lives in the parser, not per flag)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from patchline.cli.app import build_parser
from patchline.cli.parser import PatchlineParser, other_spelling, verbosity

pytestmark = pytest.mark.unit


def _parsers(parser: argparse.ArgumentParser, path: str = "patchline") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def _every_parser() -> list[tuple[str, argparse.ArgumentParser]]:
    return list(_parsers(build_parser()))


def test_every_multi_word_flag_of_every_command_takes_both_spellings() -> None:
    checked = 0
    for path, parser in _every_parser():
        assert isinstance(parser, PatchlineParser), path
        assert parser.allow_abbrev is False, path
        for action in parser._actions:
            for option in action.option_strings:
                alias = other_spelling(option)
                if alias is not None:
                    assert parser._option_string_actions.get(alias) is action, f"{path}: {option} without {alias}"
                    checked += 1
    assert checked > 100  # every group was built and walked


@pytest.mark.parametrize(
    "argv",
    [
        ["rollout", "bugfixer", "--num-workers", "2", "--stage", "gen_step1", "--output-file", "o.jsonl"],
        ["rollout", "bugfixer", "--num_workers", "2", "gen_step1", "--output_file", "o.jsonl"],
    ],
)
def test_seed_and_dashed_spellings_parse_the_same(argv: list[str]) -> None:
    args = vars(build_parser(argv).parse_args(argv))  # flags of settings fields have dotted dests
    assert (args["workflow.num_workers"], args["output_file"]) == (2, "o.jsonl")


def test_abbreviations_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["infer", "run", "--input", "a", "--output", "b", "--url", "http://127.0.0.1:1", "--conc", "8"]
    with pytest.raises(SystemExit) as exited:
        build_parser(argv).parse_args(argv)
    assert exited.value.code == 2
    assert "unrecognized arguments: --conc 8" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["-vv", "--log-format", "json", "infer", "run", "--input", "a", "--output", "b"],
        ["infer", "run", "--input", "a", "--output", "b", "-vv", "--log-format", "json"],
        ["infer", "-v", "run", "--log-format", "json", "--input", "a", "-v", "--output", "b"],
    ],
)
def test_global_options_are_accepted_anywhere(argv: list[str]) -> None:
    args = build_parser(argv).parse_args(argv)
    assert (verbosity(args), args.log_format) == (2, "json")


def test_global_options_default_without_being_given() -> None:
    argv = ["infer", "run", "--input", "a", "--output", "b"]
    args = build_parser(argv).parse_args(argv)
    assert (verbosity(args), args.log_format) == (0, "text")


def test_help_lists_each_flag_once(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser(["rollout"]).parse_args(["rollout", "bugfixer", "--help"])
    out = capsys.readouterr().out
    assert "--num_workers NUM_WORKERS" in out and "--num-workers" not in out


def test_flags_in_groups_take_both_spellings_too() -> None:
    parser = PatchlineParser(prog="p", root=True)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--merge-existing", action="store_true")
    section = parser.add_argument_group("section")
    section.add_argument("--cache_root", default=".")
    args = parser.parse_args(["--merge_existing", "--cache-root", "x"])
    assert args.merge_existing and args.cache_root == "x"
