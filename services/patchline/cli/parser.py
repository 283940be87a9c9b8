"""The argument parser every ``patchline`` command is built with: one rule for flag spellings and global options.

- Every multi-word flag takes both spellings: ``--num_workers`` and ``--num-workers`` (the seed scripts mix
  them, and users type either). The other spelling is added when a flag is defined, in parsers and in
  their argument groups alike, and left out of ``--help``.
- Abbreviations are refused: ``--conc 8`` is an error, not ``--concurrency 8``. A prefix that happens to
  match today would silently mean another flag once one with the same prefix is added.
- The global options (``-v``, ``--log-format``) are accepted before the command and after it.

Subcommand parsers are created by argparse as instances of their parent's class, so defining the root
parser with :class:`PatchlineParser` is all a command module needs.
"""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from patchline.core.spec import DEFAULT_MISMATCH_POLICY, MismatchPolicy

__all__ = ["LOG_FORMATS", "PatchlineParser", "add_mismatch_arguments", "mismatch_policy", "other_spelling", "verbosity"]

LOG_FORMATS = ("text", "json")
_VERBOSE = "verbose"
_ActionT = TypeVar("_ActionT", bound=argparse.Action)


def other_spelling(option: str) -> str | None:
    """``--a_b`` -> ``--a-b`` and ``--a-b`` -> ``--a_b``; None for short or one-word options."""
    if not option.startswith("--") or len(option) <= 3:
        return None
    body = option[2:]
    if "_" in body:
        return "--" + body.replace("_", "-")
    if "-" in body:
        return "--" + body.replace("-", "_")
    return None


class _SpellingAliases(argparse._ActionsContainer):
    """Registers the other spelling of each long option of a new action (unless something already owns it).

    Done when the action is added, not when its flags are read, so options an action makes itself
    (``--no-x`` of BooleanOptionalAction) get their other spelling too.
    """

    def _add_action(self, action: _ActionT) -> _ActionT:
        added = super()._add_action(action)
        options = list(action.option_strings)
        for option in list(options):
            alias = other_spelling(option)
            if alias and alias not in self._option_string_actions:
                options.append(alias)
                self._option_string_actions[alias] = action
        action.option_strings = options
        return added


class _ArgumentGroup(_SpellingAliases, argparse._ArgumentGroup):
    """An argument group whose flags take both spellings."""


class _MutuallyExclusiveGroup(_SpellingAliases, argparse._MutuallyExclusiveGroup):
    """A mutually exclusive group whose flags take both spellings."""


class _HelpFormatter(argparse.HelpFormatter):
    """Lists each flag once: the other spelling of an option string shown before it is left out."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        shown: list[str] = []
        for option in action.option_strings:
            if other_spelling(option) not in shown:
                shown.append(option)
        if len(shown) == len(action.option_strings):
            return super()._format_action_invocation(action)
        original = action.option_strings
        action.option_strings = shown
        try:
            return super()._format_action_invocation(action)
        finally:
            action.option_strings = original


class PatchlineParser(_SpellingAliases, argparse.ArgumentParser):
    """An ArgumentParser with patchline's rules (module docstring); its subcommand parsers are of this class too.

    The root parser (``root=True``) holds the defaults of the global options; every subcommand parser
    accepts them as well and overrides the root's values only when they are given after the command.
    """

    def __init__(self, *args: Any, root: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        default: Any = argparse.SUPPRESS
        self.add_argument(
            "-v",
            "--verbose",
            action="count",
            # argparse copies a subcommand's values over its parent's: a dest per level lets counts add up.
            dest=_VERBOSE if root else f"{_VERBOSE}__{self.prog}",
            default=0 if root else default,
            help="more log output (-vv for debug); accepted before or after the command",
        )
        self.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            default="text" if root else default,
            help="log line format (text or json); accepted before or after the command",
        )

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        group = _ArgumentGroup(self, *args, **kwargs)
        self._action_groups.append(group)
        return group

    def add_mutually_exclusive_group(self, **kwargs: Any) -> argparse._MutuallyExclusiveGroup:
        group = _MutuallyExclusiveGroup(self, **kwargs)
        self._mutually_exclusive_groups.append(group)
        return group


def verbosity(args: argparse.Namespace) -> int:
    """How many ``-v`` were given, before and after the command together."""
    return sum(v for k, v in vars(args).items() if k == _VERBOSE or k.startswith(f"{_VERBOSE}__"))


def add_mismatch_arguments(parser: argparse.ArgumentParser, *, what: str, existing: str) -> None:
    """``--restart`` / ``--accept-existing``: what to do when ``what`` holds ``existing`` made for other requests."""
    choice = parser.add_mutually_exclusive_group()
    for flag, policy, text in (
        ("--restart", MismatchPolicy.RESTART, f"start {what} over (the old file is kept aside as *.replaced-TIME)"),
        (
            "--accept-existing",
            MismatchPolicy.ACCEPT,
            f"take the {existing} already in {what} even where they were made for other requests or settings",
        ),
    ):
        choice.add_argument(flag, action="store_const", dest="on_mismatch", const=policy, help=text)


def mismatch_policy(args: argparse.Namespace) -> MismatchPolicy:
    """The policy the flags of :func:`add_mismatch_arguments` chose (the default when neither was given)."""
    policy = getattr(args, "on_mismatch", None)
    return policy if isinstance(policy, MismatchPolicy) else DEFAULT_MISMATCH_POLICY
