"""The compiled cache: validated content as plain JSON, rebuilt without pydantic.

Each validated file's plain data is written, with a digest of the file and of the schema code, to a
``__pycache__`` folder beside it (when that folder can be written) and to the user's cache (named
by the digest, so identical files share an entry). The next load whose digests match rebuilds the
dataclasses straight from that JSON without importing pydantic or the YAML parser; any edit to the
file or to the schema makes the digests differ and the file is validated again.
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
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from .._private import private_dir, user_cache_dir

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
def schema_digest(model: Any) -> bytes:
    found: set[str] = {__name__}  # this module, and (through Data) the schema module
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


def read_compiled(path: Path, digest: str) -> Any:
    for candidate in _cache_paths(path, digest):
        try:
            entry = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and entry.get("digest") == digest:
            return entry
    return None


def write_compiled(path: Path, digest: str, data: Any) -> None:
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
