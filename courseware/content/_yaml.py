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
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ContentError([Problem(name, line, f"YAML syntax error: {reason}")]) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. bad escapes)
        raise ContentError([Problem(name, 1, f"YAML error: {exc}")]) from None
    if not isinstance(tree, CommentedMap):
        raise ContentError([Problem(name, 1, "expected a mapping of fields at the top level")])
    return YamlDocument(path, _plain(tree), tree)
