"""Names a package offers but loads on first use (PEP 562), written once for every package.

A package lists ``name -> module`` in a table and sets ``__getattr__ = lazy_getattr(__name__,
table)``: ``import courseware.content`` then stays cheap (no pydantic, tornado or numpy in a
learner's kernel) while ``courseware.content.check_paths`` still works. A loaded name is kept in
the package, so the table is read once per name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: a name in ``table`` is imported from its module
    (absolute, or relative to ``package``); any other name is an ``AttributeError``."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
