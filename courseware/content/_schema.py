"""Content classes that need no pydantic at run time, and their validation.

Content is written as frozen dataclasses (subclasses of :class:`Data`). Reading an author's YAML
validates it with pydantic (strict rules, every error at its line), but pydantic and its compiled
core cost a learner's kernel about 8 MB and a noticeable start-up, for files that were already
checked by ``courseware check``. So :func:`load_validated` reads a file's *compiled* form when it
is current (see :mod:`._compiled`) and validates only when it is not.

Constraints are written with :mod:`annotated_types` (``Ge``, ``MinLen``...) and the markers below,
which pydantic understands and which cost nothing when pydantic is not loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from annotated_types import Ge, Gt, Le, MaxLen, MinLen

from ..errors import CoursewareError
from ._compiled import build, dump, read_compiled, schema_digest, write_compiled
from ._errors import ContentError, Problem

if TYPE_CHECKING:
    from ._yaml import YamlDocument

__all__ = [
    "After",
    "Before",
    "Data",
    "FieldError",
    "Ge",
    "Gt",
    "Le",
    "MaxLen",
    "MinLen",
    "OneOf",
    "Slug",
    "Str",
    "Text",
    "load_validated",
    "validate",
]

T = TypeVar("T")


class Data:
    """Base of every content dataclass: unknown fields are errors (a misspelt key is never ignored)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid",
        "str_strip_whitespace": False,
    }


@dataclass(frozen=True)
class Str:
    """String rules for pydantic: strip, length, pattern."""

    strip: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        rules = {
            "strip_whitespace": self.strip or None,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "pattern": self.pattern,
        }
        schema.update({k: v for k, v in rules.items() if v is not None})
        return schema


@dataclass(frozen=True)
class Before:
    """Run ``fn`` on the raw value before pydantic validates it (e.g. accept a shorthand)."""

    fn: Callable[[Any], Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_before_validator_function(self.fn, handler(source))


@dataclass(frozen=True)
class After:
    """Run ``fn`` on the validated value; a ``ValueError`` is reported at this field's line."""

    fn: Callable[[Any], Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.fn, handler(source))


@dataclass(frozen=True)
class OneOf:
    """A union told apart by the literal value of one field (``kind``, ``type``)."""

    field: str

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic import Discriminator

        return Discriminator(self.field).__get_pydantic_core_schema__(source, handler)


class FieldError(CoursewareError, ValueError):
    """Raised from ``__post_init__`` to point at one field rather than the whole object."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


Slug = Annotated[str, Str(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, Str(strip=True, min_length=1)]


# --- validation (pydantic, loaded on first use) ----------------------------------------------


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind in {"extra_forbidden", "unexpected_keyword_argument"}:
        return "unknown field (check the spelling)"
    if kind == "literal_error":
        return str(err["msg"]).replace("Input should be", "must be one of")
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "dataclass_type":
        return "expected a mapping of fields"
    return str(err["msg"])


@cache
def _adapter(model: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(model)


def validate(doc: YamlDocument, model: type[T]) -> T:
    """Validate a parsed file against ``model``; every schema error names its line and field."""
    from pydantic import ValidationError

    try:
        adapter = _adapter(typing.cast(Any, model))
        return typing.cast(T, adapter.validate_python(doc.data))
    except ValidationError as exc:
        problems: list[Problem] = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, FieldError):
                loc.extend(int(p) if p.isdigit() else p for p in cause.field.split("."))
            problems.append(doc.problem(loc, _message(err)))
        raise ContentError(problems) from None


@typing.overload
def load_validated(path: Path, model: type[T]) -> tuple[YamlDocument, T]: ...


@typing.overload
def load_validated(
    path: Path, model: Any, check: Callable[[YamlDocument], T]
) -> tuple[YamlDocument, T]: ...


def load_validated(
    path: Path, model: Any, check: Callable[[YamlDocument], Any] | None = None
) -> tuple[YamlDocument, Any]:
    """Read ``path`` as a ``model``: from its compiled form when it is current, else validated
    (by ``check`` when given, which must return a ``model``).

    The document returned parses the YAML only if something asks for a line number.
    """
    from ._yaml import YamlDocument, read_text, read_yaml

    raw = read_text(path)
    digest = hashlib.sha256(schema_digest(model) + raw.encode("utf-8")).hexdigest()
    entry = read_compiled(path, digest)
    if entry is not None:
        with contextlib.suppress(Exception):  # a damaged cache entry: validate instead
            return YamlDocument.unparsed(path, raw), build(model, entry["data"])
    doc = read_yaml(path, raw)
    obj = check(doc) if check is not None else validate(doc, model)
    write_compiled(path, digest, dump(obj))
    return doc, obj
