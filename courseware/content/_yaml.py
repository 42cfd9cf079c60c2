"""YAML loading that remembers where every key and item came from.

Authors write YAML by hand; when something is wrong the message must name the line. ruamel.yaml's
round-trip loader keeps line numbers on every mapping and sequence, which we translate into plain
Python data plus a lookup from a pydantic error location to a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import ContentError, Problem, display_path


class YamlDocument:
    """A YAML file: plain data for validation and the raw tree for line look-ups.

    A document made by :meth:`unparsed` (its content came from the compiled cache) parses the text
    only when a line number or the data is first asked for.
    """

    def __init__(self, path: Path, data: Any, tree: Any) -> None:
        self.path = path
        self._data = data
        self._tree = tree
        self._text: str | None = None

    @classmethod
    def unparsed(cls, path: Path, text: str) -> YamlDocument:
        doc = cls(path, None, None)
        doc._text = text
        return doc

    def _parse(self) -> None:
        if self._text is not None:
            parsed = read_yaml(self.path, self._text)
            self._data, self._tree, self._text = parsed._data, parsed._tree, None

    @property
    def data(self) -> Any:
        self._parse()
        return self._data

    @property
    def name(self) -> str:
        return display_path(self.path)

    def line_of(self, loc: Sequence[str | int]) -> int:
        """1-based line of the deepest part of ``loc`` that exists in the file."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        self._parse()
        node = self._tree
        line = 1
        for key in loc:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                if isinstance(node, CommentedMap | CommentedSeq) and line == 1:
                    line = node.lc.line + 1
                break
        return line

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        return Problem(self.name, self.line_of(loc), message, field=".".join(map(str, loc)))

    def id_problems(self, ident: str) -> list[Problem]:
        """The rule for every content file with an ``id``: it is the file's name, so a link, a
        store key and the file an author opens all agree. No problem, or the one at ``id``."""
        if ident == self.path.stem:
            return []
        return [self.problem(["id"], f"id {ident!r} differs from the file name {self.path.stem!r}")]


def _plain(node: Any) -> Any:
    """ruamel's tree as plain dicts, lists and str (its mappings and sequences subclass these)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def read_text(path: Path) -> str:
    """A content file's text; unreadable or non-UTF-8 files become a :class:`ContentError`."""
    name = display_path(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError([Problem(name, 1, f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise ContentError([Problem(name, 1, f"cannot read file: {exc.strerror}")]) from None


def read_yaml(path: Path, text: str | None = None) -> YamlDocument:
    """Parse ``path`` (or its ``text``, already read); syntax errors and duplicate keys become a
    :class:`ContentError` with a line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError

    name = display_path(path)
    if text is None:
        text = read_text(path)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        line, message = explain_yaml_error(text, exc)
        raise ContentError([Problem(name, line, f"YAML syntax error: {message}")]) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. bad escapes)
        raise ContentError([Problem(name, 1, f"YAML error: {exc}")]) from None
    if not isinstance(tree, CommentedMap):
        raise ContentError([Problem(name, 1, "expected a mapping of fields at the top level")])
    return YamlDocument(path, _plain(tree), tree)


# --- syntax errors in plain words ---------------------------------------------------------------

_INDENT_HELP = (
    "YAML groups fields by the spaces at the start of each line: fields of the same thing start "
    "in the same column, and what belongs to a field is indented further under it"
)


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _previous(lines: list[str], index: int) -> int | None:
    """Index of the nearest line above ``index`` that holds something (not blank, not a comment)."""
    for i in range(min(index, len(lines)) - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("#"):
            return i
    return None


def _tab_line(lines: list[str]) -> int | None:
    """Index of the first line indented with a tab."""
    for i, line in enumerate(lines):
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            return i
    return None


def _unclosed_quote(lines: list[str]) -> int | None:
    """Index of the first line whose value opens a quotation mark that the line does not close.

    (A quoted value may run over several lines in YAML, but hand-written content seldom does,
    so when parsing fails this is the likeliest cause.)"""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        value = stripped.removeprefix("- ")
        if ": " in value and not value.startswith(("'", '"')):
            value = value.split(": ", 1)[1].lstrip()
        if value.startswith('"'):
            if value.replace("\\\\", "").replace('\\"', "").count('"') % 2:
                return i
        elif value.startswith("'") and value.count("'") % 2:
            return i
    return None


def _has_key(line: str) -> bool:
    stripped = line.strip().removeprefix("- ").strip()
    return ": " in stripped or stripped.endswith(":")


def explain_yaml_error(text: str, exc: Any) -> tuple[int, str]:
    """A YAML syntax error as (1-based line, what is wrong and how to fix it, in plain words).

    The parser reports where it noticed the problem in its own terms ("expected <block end>, but
    found '?'"); an author needs the cause. The common ones (indentation, a tab, a missing colon,
    a colon inside a value, a duplicate key, an unclosed quote) are recognised here.
    """
    lines = _lines(text)
    problem = str(exc.problem or "")
    context = str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    at = mark.line if mark is not None else 0
    start = exc.context_mark.line if exc.context_mark is not None else at
    tab = _tab_line(lines)
    if tab is not None and tab <= at:
        return tab + 1, (
            "this line is indented with a tab; YAML allows only spaces for indentation. "
            "Replace the tab with spaces (two per level, lined up with the lines around it)"
        )
    if "duplicate key" in problem:
        key = problem.split('"')[1] if '"' in problem else "a key"
        here = lines[at] if at < len(lines) else ""
        first = next(
            (
                i
                for i in range(start, at)
                if _indent(lines[i]) == _indent(here)
                and lines[i].strip().removeprefix("- ").startswith(f"{key}:")
            ),
            start,
        )
        return at + 1, (
            f"the field {key!r} appears twice in the same block (first at line {first + 1}); "
            "each field may be given once: delete one of them, or, if this line belongs to "
            "something else, indent it under that"
        )
    unclosed = _unclosed_quote(lines)
    if "quoted scalar" in context or (unclosed is not None and unclosed <= at):
        if unclosed is not None and unclosed <= at:
            start = unclosed
        return start + 1, (
            "a quotation mark opened on this line is never closed: add the closing quote at the "
            'end of the text. A quote inside the text must be written as \\" inside '
            "\"double quotes\", or as '' inside 'single quotes'"
        )
    if "could not find expected ':'" in problem:
        return start + 1, (
            "this line has no colon after its field name: write it as 'name: value' (a colon "
            "and a space), or, if it continues the text of the line above, put that text in quotes"
        )
    if "mapping values are not allowed" in problem:
        line = lines[at] if at < len(lines) else ""
        column = mark.column if mark is not None else len(line)
        before = line[:column]
        if ": " in before.strip().removeprefix("- "):
            return at + 1, (
                "the value on this line contains ': ', which YAML reads as a new field; put the "
                'whole value in double quotes, e.g. title: "Note: this"'
            )
        above = _previous(lines, at)
        if (
            above is not None
            and not _has_key(lines[above])
            and _indent(lines[above]) == _indent(line)
        ):
            return above + 1, (
                "this line has no colon after its field name: write it as 'name: value' (a colon "
                "and a space)"
            )
        if above is not None and _indent(line) > _indent(lines[above]):
            return at + 1, (
                f"this line is indented further than line {above + 1} above it, but that line "
                "already has its value; line it up with the line above (the same number of "
                f"spaces). {_INDENT_HELP}"
            )
        return at + 1, (
            "YAML reads a new field here where it cannot start one: check the indentation, "
            "and put a value that contains ': ' in double quotes"
        )
    if "expected <block end>" in problem or "block" in context:
        line = lines[at] if at < len(lines) else ""
        found = problem.rsplit("found", 1)[-1]
        above = _previous(lines, at)
        if "'?'" in found or ("<block mapping start>" in found and line.lstrip().startswith("- ")):
            return at + 1, (
                "this field sits among the items of a list ('- ...') without a '- ' of its own: "
                "start it with '- ' if it is a new item, or indent it further if it belongs to the "
                f"item above. {_INDENT_HELP}"
            )
        expected = _indent(lines[start]) if start < len(lines) else 0
        if above is not None:
            expected = _indent(lines[above])
        return at + 1, (
            f"this line is indented by {_spaces(_indent(line))}, which does not line up with the "
            f"lines above it (line {(above or 0) + 1} has {_spaces(expected)}). {_INDENT_HELP}; use the same "
            "number of spaces as the other fields of the same thing"
        )
    reason = " ".join(p for p in (context, problem) if p)
    return at + 1, (
        f"this is not valid YAML (the parser says: {reason}); check the indentation, the colons "
        "after field names, and that every quotation mark is closed"
    )
