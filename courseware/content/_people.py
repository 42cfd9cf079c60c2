"""The people register, ``modules/people.yaml``: every named character, once (one name, one person).

A case that reuses a name for a different person confuses learners and breaks the fiction, so the
register lists each character with the module (or assignment) they belong to, and ``courseware
check`` refuses a name listed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from ._errors import Problem, display_path
from ._schema import Data, Ge, Le, MinLen, Slug, Text, load_validated

PEOPLE_FILE = "people.yaml"
"""The register's file name, at the top of the modules folder."""


@dataclass(frozen=True, kw_only=True)
class Person(Data):
    """One character: full name (no title), optional age, a line of background, their module."""

    name: Text
    background: Text
    module: Slug
    age: Annotated[int, Ge(0), Le(120)] | None = None


@dataclass(frozen=True, kw_only=True)
class People(Data):
    """The whole register."""

    people: Annotated[list[Person], MinLen(1)]


def is_people_file(path: Path) -> bool:
    """Whether ``path`` is the register (``people.yaml`` directly under a ``modules`` folder)."""
    return path.name == PEOPLE_FILE and path.parent.name == "modules"


def check_people(path: Path) -> list[Problem]:
    """Validate the register and report each name that is listed a second time."""
    doc, register = load_validated(path, People)
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for index, person in enumerate(register.people):
        key = " ".join(person.name.split()).casefold()
        line = doc.line_of(["people", index, "name"])
        if key in seen:
            problems.append(
                Problem(
                    display_path(path),
                    line,
                    f"{person.name!r} is already listed (line {seen[key]}): one name, one person;"
                    " rename one of them",
                    field=f"people.{index}.name",
                )
            )
        else:
            seen[key] = line
    return problems
