"""``courseware feedback``: code a CSV of replies, train the heads, regenerate the corpus split.

An error raised on purpose (a bad corpus, no coder) is reported once, by ``courseware``'s main.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_feedback_commands"]


def _code(args: argparse.Namespace) -> int:
    from ._csv import code_csv

    try:
        result = code_csv(args.input, args.out)
    except (ValueError, OSError) as exc:  # the CSV itself: a clear message, no traceback
        print(exc, file=sys.stderr)
        return 1
    bad = len(result.problems)
    print(
        f"wrote {args.out}: {result.coded} replies coded, {bad} bad row{'s' if bad != 1 else ''}",
        file=sys.stderr,
    )
    return 1 if bad else 0


def _split(args: argparse.Namespace) -> int:
    from ._corpus import load_corpus, make_splits, write_splits
    from .train import default_splits_path

    corpus = load_corpus(args.corpus)
    splits = make_splits(corpus.statements)
    out = args.out or default_splits_path()
    write_splits(out, splits)
    counts = {s: sum(1 for v in splits.values() if v == s) for s in ("train", "dev", "test")}
    print(f"wrote {out}: " + ", ".join(f"{n} {s}" for s, n in counts.items()), file=sys.stderr)
    return 0


def train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="folder of statement files (repeatable; default corpus/replies)",
    )
    parser.add_argument("--splits", type=Path, help="the split file (default corpus/splits.yaml)")
    parser.add_argument(
        "-o", "--out", type=Path, help="where to write the heads (default: the package's)"
    )
    parser.set_defaults(func=_train)
    return parser


def _train(args: argparse.Namespace) -> int:
    from .train import HEADS_PATH, train

    train(args.corpus, args.splits, args.out or HEADS_PATH)
    return 0


def add_feedback_commands(sub: Any) -> None:
    """Register ``courseware feedback`` and its sub-commands on the main parser's sub-parsers."""
    feedback = sub.add_parser("feedback", help="the reply coder: code replies, train, split")
    commands = feedback.add_subparsers(dest="feedback_command", required=True)

    code = commands.add_parser(
        "code", help="code a CSV of statement,reply rows; adds codes, provides_space, confidence"
    )
    code.add_argument("input", type=Path, help="CSV with statement and reply columns")
    code.add_argument("-o", "--out", type=Path, required=True, help="where to write the coded CSV")
    code.set_defaults(func=_code)

    train_arguments(commands.add_parser("train", help="train the coder's heads on corpus/replies"))

    split = commands.add_parser(
        "split", help="assign each corpus statement to train / dev / test (corpus/splits.yaml)"
    )
    split.add_argument(
        "--corpus", type=Path, action="append", help="folder of statement files (repeatable)"
    )
    split.add_argument("-o", "--out", type=Path, help="default corpus/splits.yaml")
    split.set_defaults(func=_split)
