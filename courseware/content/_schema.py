"""Content classes that need no pydantic at run time.

Content is written as frozen dataclasses (subclasses of :class:`Data`). Reading an author's YAML
validates it with pydantic (strict rules, every error at its line), but pydantic and its compiled
core cost a learner's kernel about 8 MB and a noticeable start-up, for files that were already
checked by ``courseware check``. So each validated file is also *compiled*: its plain data is
written, with a digest of the file and of the schema code, to a ``__pycache__`` folder beside it
(when that folder can be written) and to the user's cache (named by the digest, so identical
files share an entry). The next load whose digests match rebuilds
the dataclasses straight from that JSON without importing pydantic or the YAML parser; any edit to
the file or to the schema makes the digests differ and the file is validated again.

Constraints are written with :mod:`annotated_types` (``Ge``, ``MinLen``...) and the markers below,
which pydantic understands and which cost nothing when pydantic is not loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import stat
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, Union

from annotated_types import Ge, Gt, Le, MaxLen, MinLen

from .._private import private_dir, user_cache_dir
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
    "build",
    "dump",
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


class FieldError(ValueError):
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


# --- plain data in and out (no pydantic) -----------------------------------------------------


def dump(obj: Any) -> Any:
    """A validated object as JSON-ready data (what :func:`build` turns back into the object)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: dump(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, list | tuple):
        return [dump(v) for v in obj]
    if isinstance(obj, dict):
        return {k: dump(v) for k, v in obj.items()}
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: type) -> tuple[set[str], set[str]]:
    """(all init fields, required init fields) of a dataclass."""
    every, required = set(), set()
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        every.add(f.name)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.add(f.name)
    return every, required


def _member_for(members: list[type], value: Any) -> type | None:
    """The dataclass of a union that ``value`` (a dict) was dumped from."""
    if not isinstance(value, dict):
        return None
    for cls in members:
        hints = _hints(cls)
        tags = [
            name for name, tp in hints.items() if typing.get_origin(tp) is Literal and name in value
        ]
        if tags and all(value[t] in typing.get_args(hints[t]) for t in tags):
            return cls
    for cls in members:
        every, required = _fields(cls)
        if required <= value.keys() <= every:
            return cls
    return None


def build(tp: Any, value: Any) -> Any:
    """Rebuild an object of type ``tp`` from :func:`dump`'s data, without validating it again."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return build(typing.get_args(tp)[0], value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{k: build(hints[k], v) for k, v in value.items()})
    if origin is list:
        (item,) = typing.get_args(tp)
        return [build(item, v) for v in value]
    if origin is dict:
        key, item = typing.get_args(tp)
        return {build(key, k): build(item, v) for k, v in value.items()}
    if origin is Union or origin is types.UnionType:
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        classes = [
            typing.get_args(m)[0] if typing.get_origin(m) is Annotated else m for m in members
        ]
        data = [m for m in classes if isinstance(m, type) and dataclasses.is_dataclass(m)]
        if data:
            chosen = _member_for(data, value)
            if chosen is not None:
                return build(chosen, value)
        return build(members[0], value) if len(members) == 1 else value
    if tp is int and isinstance(value, str):  # a JSON object key
        return int(value)
    return value


# --- the compiled cache ----------------------------------------------------------------------


def _modules_of(tp: Any, seen: set[int], found: set[str]) -> None:
    """Source modules that decide what ``tp`` accepts: its classes' and its validators'."""
    if id(tp) in seen:
        return
    seen.add(id(tp))
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *extras = typing.get_args(tp)
        _modules_of(base, seen, found)
        for extra in extras:
            fn = getattr(extra, "fn", None)
            if fn is not None:
                found.add(fn.__module__)
        return
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        for klass in tp.__mro__:
            if klass is not object:
                found.add(klass.__module__)
        for hint in _hints(tp).values():
            _modules_of(hint, seen, found)
        return
    for arg in typing.get_args(tp):
        _modules_of(arg, seen, found)


@cache
def _schema_digest(model: Any) -> bytes:
    found: set[str] = {__name__}
    _modules_of(model, set(), found)
    digest = hashlib.sha256(repr(model).encode())
    for name in sorted(found):
        source = getattr(sys.modules.get(name), "__file__", None)
        if source:
            digest.update(name.encode() + b"\0" + Path(source).read_bytes())
    return digest.digest()


def _cache_paths(path: Path, digest: str) -> Iterator[Path]:
    """Beside the file (shipped with the content), then the user's cache, where entries are named
    by digest so the same file anywhere (every student's copy of an assignment) shares one."""
    yield path.parent / "__pycache__" / f"{path.name}.courseware.json"
    yield user_cache_dir() / "compiled" / f"{digest}.courseware.json"


def _read_compiled(path: Path, digest: str) -> Any:
    for candidate in _cache_paths(path, digest):
        try:
            entry = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and entry.get("digest") == digest:
            return entry
    return None


def _write_compiled(path: Path, digest: str, data: Any) -> None:
    """Beside the file, as readable as the file itself (course folders are shared); in the
    user's cache, private to them (``0700`` folders, ``0600`` files, like everything of theirs)."""
    text = json.dumps({"digest": digest, "data": data}, ensure_ascii=False)
    for number, candidate in enumerate(_cache_paths(path, digest)):
        with contextlib.suppress(OSError):
            if number == 0:
                candidate.parent.mkdir(parents=True, exist_ok=True)
            else:
                private_dir(candidate.parent)
            fd, temporary = tempfile.mkstemp(dir=candidate.parent, suffix=".tmp")  # 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                if number == 0:
                    os.chmod(temporary, stat.S_IMODE(path.stat().st_mode) & 0o666)
                os.replace(temporary, candidate)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


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
    digest = hashlib.sha256(_schema_digest(model) + raw.encode("utf-8")).hexdigest()
    entry = _read_compiled(path, digest)
    if entry is not None:
        with contextlib.suppress(Exception):  # a damaged cache entry: validate instead
            return YamlDocument.unparsed(path, raw), build(model, entry["data"])
    doc = read_yaml(path, raw)
    obj = check(doc) if check is not None else validate(doc, model)
    _write_compiled(path, digest, dump(obj))
    return doc, obj
