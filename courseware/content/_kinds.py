"""The kinds of content file ``courseware check`` knows, and how other packages add theirs.

A kind is a name, a test of which paths it claims and a checker returning the file's problems.
Content registers its own kinds; another package (grading: rubrics, answer keys, assessed items)
calls :func:`register_checker` when imported. :func:`kinds` imports the modules listed in
:data:`courseware._plugins.CHECKER_MODULES` first, so content never imports those packages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ._errors import Problem


class ContentKind(NamedTuple):
    """One kind of content file: a name for messages, which paths it claims, its checker."""

    name: str
    claims: Callable[[Path], bool]
    check: Callable[[Path], list[Problem]]


_KINDS: list[ContentKind] = []


def register_checker(
    name: str, claims: Callable[[Path], bool], check: Callable[[Path], list[Problem]]
) -> None:
    """Add a kind of content file to ``courseware check`` (a later kind with the same name replaces
    the earlier one, so importing a module twice registers it once). The first kind that claims a
    path checks it; ``check`` returns the file's problems or raises ``ContentError``."""
    kind = ContentKind(name, claims, check)
    for i, known in enumerate(_KINDS):
        if known.name == name:
            _KINDS[i] = kind
            return
    _KINDS.append(kind)


def kinds() -> list[ContentKind]:
    """Every registered kind, after importing the packages that register their own."""
    from .._plugins import CHECKER_MODULES

    for module in CHECKER_MODULES:
        importlib.import_module(module)
    return list(_KINDS)
