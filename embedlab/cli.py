"""The `embedlab` command: one parser, its subcommands grouped by audience.

The handlers live in `embedlab.commands` (data, student, instructor) and
take ``(args, settings)``. This module is an edge: it reads the environment
once, into the `Settings` its options override, and turns an `EmbedlabError`
into one line on stderr and exit status 1. Each handler imports what it
needs when it runs, so `embedlab --help` and `embedlab hint` never pay for
importing TensorFlow; TensorFlow's log noise is silenced before
(`quiet_tensorflow`), and on a terminal the handler's progress shows
(`embedlab.grading.progress_display.shown`).
"""

from __future__ import annotations

import argparse
import sys

from embedlab import __version__
from embedlab.commands import data, instructor, student
from embedlab.errors import EmbedlabError
from embedlab.grading.progress_display import shown
from embedlab.quiet import quiet_tensorflow
from embedlab.settings import Settings

GROUPS = (("data", data), ("student", student), ("instructor", instructor))


class _Group:
    """One audience's subcommands: added to the real parser, their one-line help kept for the overview."""

    def __init__(self, commands):
        self.commands = commands
        self.summaries: list[tuple[str, str]] = []

    def add_parser(self, name: str, *, help: str, **options) -> argparse.ArgumentParser:
        self.summaries.append((name, help))
        options.setdefault("description", help)
        return self.commands.add_parser(name, **options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="embedlab", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Sparse data and embeddings: the IMDB sentiment course, its data and its autograder.",
    )
    parser.add_argument("--version", action="version", version=f"embedlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     help="one of the commands below; `embedlab COMMAND --help` for its options")
    groups = []
    for title, module in GROUPS:
        group = _Group(commands)
        module.add_commands(group)
        groups.append((title, group.summaries))
    width = max(len(name) for _, summaries in groups for name, _ in summaries)
    parser.epilog = "\n\n".join(
        "\n".join([f"{title} commands:", *(f"  {name:<{width}}  {text}" for name, text in summaries)])
        for title, summaries in groups)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """The run's settings: the options this subcommand has and was given, over the environment."""
    return Settings.from_environment(
        seed=getattr(args, "seed", None),
        time_limit=getattr(args, "time_limit", None),
        grading_data_dir=getattr(args, "grading_data", None),
        quiet=getattr(args, "quiet", None),
        questions_seed=getattr(args, "questions_seed", None),
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        quiet_tensorflow()
        with shown(settings.shows_progress()):  # on a terminal, not in CI, not with --quiet
            return args.run(args, settings)
    except EmbedlabError as error:
        print(f"embedlab {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"embedlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
