"""The labelled reply corpus (corpus/replies/*.yaml) and its split by statement (corpus/splits.yaml).

Validation follows the rest of the project's content: every problem is ``FILE:LINE: field: message``
and all of them are reported at once (:class:`~courseware.content.ContentError`). The split is by
statement, never by reply: replies to one statement share words, so a test split drawn by reply
would reward memorising situations the coder has already seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from .._paths import repository_folder
from ..content import CODES, ContentError, Problem, Stream, display_path, load_each, read_yaml

__all__ = [
    "SETTINGS",
    "SPLITS",
    "STREAMS",
    "Corpus",
    "Reply",
    "Statement",
    "corpus_digest",
    "default_corpus_dirs",
    "load_corpus",
    "load_splits",
    "make_splits",
    "write_splits",
]

SETTINGS = (
    "primary care",
    "emergency department",
    "ward",
    "surgery",
    "maternity",
    "mental health",
    "paediatrics",
    "end of life",
    "carers",
    "colleagues",
)
STREAMS: tuple[str, ...] = get_args(Stream)  # the curriculum's streams (content/_models.py)
SPLITS = ("train", "dev", "test")
SHARES = {"test": 0.20, "dev": 0.15}  # the rest is train: about 65 / 15 / 20
REQUIRED = ("id", "setting", "stream", "speaker", "statement", "replies")
OPTIONAL = ("context",)
MAX_REPLY_CHARS = 50_000


@dataclass(frozen=True)
class Reply:
    """One labelled reply: its text and, per code, the exact words that carry it."""

    text: str
    evidence: Mapping[str, tuple[str, ...]]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.evidence)

    def spans(self, code: str) -> list[tuple[int, int]]:
        """Character spans of ``code``'s evidence in the text (first occurrence of each)."""
        out = []
        for words in self.evidence.get(code, ()):
            start = self.text.find(words)
            out.append((start, start + len(words)))
        return out


@dataclass(frozen=True)
class Statement:
    """A patient's statement with its labelled replies, from one corpus file."""

    id: str
    setting: str
    stream: str
    speaker: str
    context: str
    statement: str
    replies: tuple[Reply, ...]
    path: Path


@dataclass(frozen=True)
class Corpus:
    statements: tuple[Statement, ...]
    digest: str

    def by_id(self) -> dict[str, Statement]:
        return {s.id: s for s in self.statements}

    def __len__(self) -> int:
        return sum(len(s.replies) for s in self.statements)


def default_corpus_dirs() -> list[Path]:
    """The repository's corpus/replies (the working folder's, else the source checkout's)."""
    return [repository_folder("corpus", "replies")]


def corpus_files(dirs: Iterable[Path]) -> list[Path]:
    """Every ``*.yaml`` statement file under the given folders, ordered by file name."""
    files: list[Path] = []
    for folder in dirs:
        files.extend(sorted(Path(folder).glob("*.yaml")))
    return sorted(files, key=lambda p: (p.name, str(p)))


def corpus_digest(files: Iterable[Path]) -> str:
    """sha256 over the files' names and bytes, in name order: what the shipped heads were trained
    on (the folder they sit in does not matter, so a merged corpus keeps its digest)."""
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        data = path.read_bytes()
        h.update(f"{path.name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _text(doc: Any, data: Mapping[str, Any], key: str, problems: list[Problem]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(doc.problem([key], "must be non-empty text"))
        return ""
    return value


def _reply(doc: Any, i: int, item: Any, problems: list[Problem]) -> Reply | None:
    loc: list[str | int] = ["replies", i]
    if not isinstance(item, Mapping):
        problems.append(doc.problem(loc, "each reply must be a mapping with text and codes"))
        return None
    for key in item:
        if key not in ("text", "codes"):
            problems.append(doc.problem([*loc, key], "unknown field (expected text, codes)"))
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(doc.problem([*loc, "text"], "must be non-empty text"))
        return None
    if len(text) > MAX_REPLY_CHARS:
        problems.append(doc.problem([*loc, "text"], f"longer than {MAX_REPLY_CHARS} characters"))
    codes = item.get("codes")
    if codes is None:
        codes = {}
    if not isinstance(codes, Mapping):
        problems.append(
            doc.problem([*loc, "codes"], "must map each code to its words ({} if none)")
        )
        return None
    evidence: dict[str, tuple[str, ...]] = {}
    for code, words in codes.items():
        where = [*loc, "codes", code]
        if code not in CODES:
            problems.append(doc.problem(where, f"unknown code (one of: {', '.join(CODES)})"))
            continue
        spans = [words] if isinstance(words, str) else words
        if not isinstance(spans, list) or not spans or not all(isinstance(w, str) for w in spans):
            problems.append(doc.problem(where, "must be the words of the reply that carry it"))
            continue
        for w in spans:
            if not w.strip() or w not in text:
                problems.append(
                    doc.problem(where, f"{w!r:.60} is not an exact part of the reply's text")
                )
        evidence[code] = tuple(spans)
    return Reply(text, evidence)


def load_statement(path: Path) -> Statement:
    """One corpus file, validated; raises ContentError listing every problem with its line."""
    doc = read_yaml(path)
    data = doc.data
    problems: list[Problem] = []
    for key in data:
        if key not in REQUIRED + OPTIONAL:
            problems.append(doc.problem([key], "unknown field"))
    for key in REQUIRED:
        if key not in data:
            problems.append(doc.problem([], f"{key}: missing"))
    ident = _text(doc, data, "id", problems)
    if ident:
        problems += doc.id_problems(ident)
    setting = _text(doc, data, "setting", problems)
    if setting and setting not in SETTINGS:
        problems.append(
            doc.problem(["setting"], f"unknown setting (one of: {', '.join(SETTINGS)})")
        )
    stream = _text(doc, data, "stream", problems)
    if stream and stream not in STREAMS:
        problems.append(doc.problem(["stream"], f"unknown stream (one of: {', '.join(STREAMS)})"))
    speaker = _text(doc, data, "speaker", problems)
    statement = _text(doc, data, "statement", problems)
    context = data.get("context") or ""
    if not isinstance(context, str):
        problems.append(doc.problem(["context"], "must be text"))
    replies: list[Reply] = []
    items = data.get("replies")
    if not isinstance(items, list) or not items:
        problems.append(doc.problem(["replies"], "must be a non-empty list of replies"))
    else:
        seen: set[str] = set()
        for i, item in enumerate(items):
            reply = _reply(doc, i, item, problems)
            if reply is None:
                continue
            if reply.text in seen:
                problems.append(doc.problem(["replies", i, "text"], "duplicate reply"))
            seen.add(reply.text)
            replies.append(reply)
    if problems:
        raise ContentError(problems)
    return Statement(ident, setting, stream, speaker, str(context), statement, tuple(replies), path)


def load_corpus(dirs: Sequence[Path] | None = None) -> Corpus:
    """Every statement file in ``dirs`` (default: the repository's corpus/replies), validated.

    Raises ContentError with every problem in every file, including an id found twice."""
    files = corpus_files(dirs if dirs is not None else default_corpus_dirs())
    problems: list[Problem] = []
    statements: list[Statement] = []
    first: dict[str, Path] = {}
    for statement in load_each(files, load_statement, problems=problems):
        if statement.id in first:
            other = display_path(first[statement.id])
            problems.append(
                Problem(display_path(statement.path), 1, f"same id as {other}", field="id")
            )
            continue
        first[statement.id] = statement.path
        statements.append(statement)
    if problems:
        raise ContentError(problems)
    return Corpus(tuple(statements), corpus_digest(files))


def _rank(ident: str) -> str:
    return hashlib.sha256(f"courseware-split\0{ident}".encode()).hexdigest()


def make_splits(statements: Iterable[Statement]) -> dict[str, str]:
    """Statement id -> train / dev / test: deterministic, stratified by setting, ~65/15/20.

    Within each setting statements are ordered by a hash of their id (so an id's place does not
    depend on the files around it) and the first go to test, the next to dev. The counts carry
    their rounding from one setting to the next, so the overall shares stay within one statement
    of the targets while every setting of three or more statements has some in each split.
    """
    by_setting: dict[str, list[str]] = {}
    for s in statements:
        by_setting.setdefault(s.setting, []).append(s.id)
    out: dict[str, str] = {}
    seen = 0
    given = dict.fromkeys(SHARES, 0)
    for setting in sorted(by_setting):
        ids = sorted(by_setting[setting], key=_rank)
        seen += len(ids)
        taken = 0
        for split, share in SHARES.items():
            count = max(0, round(share * seen) - given[split])
            if len(ids) >= 3:
                count = max(count, 1)
            count = min(count, len(ids) - taken - 1) if len(ids) > 1 else 0
            for ident in ids[taken : taken + count]:
                out[ident] = split
            given[split] += count
            taken += count
        for ident in ids[taken:]:
            out[ident] = "train"
    return out


def write_splits(path: Path, splits: Mapping[str, str]) -> None:
    """``splits.yaml``: one list of statement ids per split, sorted, with how it was made."""
    lines = [
        "# Train / development / test split of corpus/replies, by statement (never by reply),",
        "# stratified by setting. Generated: courseware feedback split (do not edit by hand).",
    ]
    for split in SPLITS:
        ids = sorted(i for i, s in splits.items() if s == split)
        lines.append(f"{split}:" if ids else f"{split}: []")
        lines.extend(f"  - {i}" for i in ids)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_splits(path: Path, corpus: Corpus | None = None) -> dict[str, str]:
    """Read ``splits.yaml``: statement id -> split. Raises ContentError (with lines) when an id is
    in two splits, or, given ``corpus``, when a statement is unassigned or an id is unknown."""
    doc = read_yaml(path)
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for split, ids in doc.data.items():
        if split not in SPLITS:
            problems.append(doc.problem([split], f"unknown split (one of: {', '.join(SPLITS)})"))
            continue
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids or []):
            problems.append(doc.problem([split], "must be a list of statement ids"))
            continue
        for i, ident in enumerate(ids):
            if ident in out:
                problems.append(doc.problem([split, i], f"{ident} is already in {out[ident]}"))
            out.setdefault(ident, split)
    if corpus is not None:
        known = corpus.by_id()
        for ident in out:
            if ident not in known:
                problems.append(Problem(doc.name, 1, f"{ident} has no file in the corpus"))
        for ident, statement in known.items():
            if ident not in out:
                problems.append(
                    Problem(
                        display_path(statement.path),
                        1,
                        f"statement is in no split of {doc.name} "
                        "(regenerate it: courseware feedback split)",
                        field="id",
                    )
                )
    if problems:
        raise ContentError(problems)
    return out
