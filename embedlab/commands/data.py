"""`embedlab prepare` and `embedlab inspect`: the data commands.

`add_commands(commands)` registers them on the one parser's subcommands
(see `embedlab.cli`); each handler takes ``(args, settings)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embedlab.settings import Settings


def _prepare(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.data.prepare import prepare
    from embedlab.data.sources import SPLITS
    from embedlab.errors import EmbedlabError

    if args.processes is not None and args.processes < 1:
        raise EmbedlabError(f"--processes {args.processes}: must be at least 1")

    manifest = prepare(
        source=None if args.source is None else Path(args.source),
        out=Path(args.out),
        force=args.force,
        strict_utf8=args.strict_utf8,
        show_progress=settings.shows_progress(),  # a terminal, not CI, not --quiet
        order_name=args.order,
        processes=args.processes,
    )
    for warning in manifest.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    state = "up to date" if manifest.get("up_to_date") else "written"
    for split in SPLITS:  # not the manifest's order: its keys are sorted
        entry = manifest["splits"][split]
        print(
            f"{Path(args.out) / entry['file']}: {entry['records']:,} records "
            f"({entry['labels']['positive']:,} positive, {entry['labels']['negative']:,} negative), "
            f"{entry['bytes'] / 1e6:.1f} MB, {state}"
        )
    return 0


def _inspect(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.data.inspect import format_summary, summarize

    print(format_summary(summarize(args.path)))
    return 0


def add_commands(commands) -> None:
    from embedlab.data.order import DEFAULT, ORDERS, REVIEW_NUMBER

    prepare = commands.add_parser(
        "prepare", help="build tfrecords/train.tfrecord and test.tfrecord from the IMDB reviews")
    prepare.add_argument("--source", metavar="PATH",
                         help="aclImdb_v1.tar.gz (or the labeled-only copy) or an unpacked aclImdb/ folder; "
                              "default: download through tensorflow-datasets")
    prepare.add_argument("--out", default="tfrecords", metavar="DIR", help="output folder (default: tfrecords)")
    prepare.add_argument("--force", action="store_true", help="rebuild even if the folder is up to date")
    prepare.add_argument("--strict-utf8", action="store_true",
                         help="fail on a review whose bytes are not UTF-8 instead of replacing them")
    prepare.add_argument("--quiet", action="store_true", help="no progress bars")
    prepare.add_argument("--order", choices=ORDERS, default=DEFAULT,
                         help=f"order of the records (default: {DEFAULT}, the same for every source; "
                              f"{REVIEW_NUMBER}: the archive's review numbers)")
    prepare.add_argument("--processes", type=int, metavar="N",
                         help="processes that tokenize (default: 2, or 1 on a machine with one core)")
    prepare.set_defaults(run=_prepare)

    inspect = commands.add_parser("inspect", help="summarize a TFRecord file in the course schema")
    inspect.add_argument("path", help="a .tfrecord file (ours or the crash course's originals)")
    inspect.set_defaults(run=_inspect)
