"""``python -m attn_lib``: the course's commands in a terminal.

python -m attn_lib progress              the progress table and where its file is
python -m attn_lib progress --verbose    ... with every exercise and the mistakes by name
python -m attn_lib progress --reset 03   forget lesson 03's progress (asks nothing)
python -m attn_lib progress --reset      forget all recorded progress
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import progress
from .i18n import _


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m attn_lib",
        description=_("The commands of the attention course."),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title=_("commands"))
    show = commands.add_parser(
        "progress",
        help=_("show your progress through the exercises (or reset it)"),
        description=_(
            "Show the exercises you passed and the mistakes the checkers recognised, per lesson, "
            "as recorded on this machine ({path}). {switch}=off stops the recording; {var} moves the file."
        ).format(path=progress.progress_file(), switch=progress.SWITCH_ENV, var=progress.DATA_DIR_ENV),
    )
    show.add_argument(
        "-v", "--verbose", action="store_true", help=_("list every exercise and the mistakes by name")
    )
    show.add_argument(
        "--reset",
        nargs="?",
        const="all",
        metavar="LESSON",
        help=_("forget the recorded progress of LESSON (e.g. 03), or of every lesson without LESSON"),
    )
    return parser


def _progress(args: argparse.Namespace) -> int:
    if args.reset is not None:
        try:
            print(progress.reset(None if args.reset == "all" else args.reset))
        except ValueError as err:
            print(_("error: {why}").format(why=err), file=sys.stderr)
            return 2
        except OSError as err:
            print(_("error: the reset did not happen: {why}").format(why=err), file=sys.stderr)
            return 1
        return 0
    print(progress.table(verbose=args.verbose))
    path = progress.progress_file()
    where = _("Progress file: {path}").format(path=path)
    if not path.exists():
        where += " " + _("(not created yet)")
    print()
    print(where)
    print(_("Reset: python -m attn_lib progress --reset [LESSON]"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status (0 on success)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "progress":
        return _progress(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `python -m attn_lib progress | head` stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
