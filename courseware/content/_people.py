"""The people register (``modules/people.yaml``): one name, one person, across the curriculum.

Every patient, relative and member of staff in the cases is listed once, with the module (or
assessment) they belong to. ``courseware check`` then finds a name recycled for someone else:

* two register entries with the same name (error);
* an entry whose ``module`` is neither a module nor an assignment under ``assignments/source``
  (error);
* a registered person's first name or surname written as a person in another module's files (error;
  a family sharing a surname inside one module is fine);
* an entry whose name (first name or surname) appears in no file of its module (warning);
* "Mr/Mrs/Ms/Miss/Dr Surname" in a module where no register entry of that module has the surname
  (warning).

Names that are also everyday words ("Will", "Hope", "Brown") count in another module only when
written with the other half of the name or after a title, so "I hope" or "brown eyes" never do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

from ._errors import Problem, display_path
from ._schema import Data, Ge, Le, Slug, Text, load_validated

PEOPLE_FILE = "people.yaml"
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Mx")
_COMMON = """
    Will May Grace Hope Joy Faith Mark Bill Rose Young Bell Brown Green White Black Hill Wood
    King Long Little Park Baker Cook Fisher Hunter Mason Page Rich Summer Dawn Amber Eve April
    June August Frank Ray Sky Iris Holly Ivy Lily Daisy Pat Sunny Chase Hall Lane Field Ward
    Nurse Doctor Sister Matron Carer Mum Dad Gran Grandad Nan Patient West North South East
    Church Moon Star Day Rivers Banks Brook Marsh Shaw Stone Street Price Bond Best Gold Golden
    Sweet Love Hart Fox Wolf Lamb Swan Crane Bird Finch Drake Hale Hardy Noble Wise Good Major
    Dean Chance Royal Bishop Abbott Pope Judge Knight Sergeant Porter Carter Turner Walker
    """
COMMON_WORDS = frozenset(_COMMON.split())
"""Names that are also ordinary English words or roles."""

_TEXT_SUFFIXES = {".yaml", ".yml", ".md", ".ipynb"}
_SKIP = {"__pycache__", ".ipynb_checkpoints"}


@dataclass(frozen=True, kw_only=True)
class Person(Data):
    """One character: full name (no title), age (optional for staff), who they are, and the
    module (or assignment) they belong to."""

    name: Text
    age: Annotated[int, Ge(0), Le(130)] | None = None
    background: Text
    module: Slug

    @property
    def parts(self) -> tuple[str, str]:
        words = self.name.split()
        return words[0], words[-1]


@dataclass(frozen=True, kw_only=True)
class PeopleRegister(Data):
    """``modules/people.yaml``."""

    people: list[Person] = field(default_factory=list)


_TOKEN = re.compile(r"[^\W\d_]\w*")


@dataclass(frozen=True)
class _Source:
    """A text file of a module, with an index from each word to the lines that hold it."""

    owner: str
    path: Path
    lines: tuple[str, ...]
    words: dict[str, list[int]]


def _sources(owner: str, folder: Path) -> Iterable[_Source]:
    for path in sorted(folder.rglob("*")):
        if path.suffix in _TEXT_SUFFIXES and path.is_file() and not _SKIP & set(path.parts):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # reported by the file's own check
            lines = tuple(text.splitlines())
            words: dict[str, list[int]] = {}
            for number, line in enumerate(lines, 1):
                for word in dict.fromkeys(_TOKEN.findall(line)):
                    words.setdefault(word, []).append(number)
            yield _Source(owner, path, lines, words)


def _owners(modules_root: Path) -> dict[str, Path]:
    """Every module id (from its module.yaml) and assignment id, with its folder."""
    from ._module import module_specs

    found: dict[str, Path] = {}
    for doc, spec in module_specs(modules_root):
        if not _SKIP & set(doc.path.parent.parts):
            found[spec.id] = doc.path.parent
    assignments = modules_root.parent / "assignments" / "source"
    if assignments.is_dir():
        for directory in sorted(p for p in assignments.iterdir() if p.is_dir()):
            found.setdefault(directory.name, directory)
    return found


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w'\u2019-]){re.escape(name)}(?![\w\u2019-])")


def check_people(path: Path) -> list[Problem]:
    """Every problem with the register at ``path`` and with the names in the modules beside it."""
    doc, register = load_validated(path, PeopleRegister)
    owners = _owners(path.parent)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    people: list[tuple[int, Person]] = []
    for i, person in enumerate(register.people):
        key = " ".join(person.name.split()).casefold()
        if key in seen:
            problems.append(
                doc.problem(
                    ["people", i, "name"],
                    f"{person.name!r} is already in the register (entry {seen[key] + 1}); one "
                    "name, one person: give this character another name",
                )
            )
            continue
        seen[key] = i
        if person.module not in owners:
            problems.append(
                doc.problem(
                    ["people", i, "module"],
                    f"no module or assignment with id {person.module!r}",
                )
            )
            continue
        people.append((i, person))
    sources = {owner: list(_sources(owner, folder)) for owner, folder in owners.items()}
    for i, person in people:
        first, last = person.parts
        where = f"{display_path(path)}:{doc.line_of(['people', i, 'name'])}"
        own = sources[person.module]
        if not any(first in source.words or last in source.words for source in own):
            problems.append(
                replace(
                    doc.problem(
                        ["people", i, "name"],
                        f"{person.name!r} appears in no file of module {person.module!r}; "
                        "correct the name or the module, or remove the entry",
                    ),
                    warning=True,
                )
            )
        for owner, files in sources.items():
            if owner == person.module:
                continue
            problems += _reused(person, files, where)
    problems += _titled_strangers(register, sources)
    return problems


def _reused(person: Person, files: list[_Source], where: str) -> list[Problem]:
    """Lines in another module that write this person's first name or surname as a person."""
    first, last = person.parts
    full = _word(" ".join(person.name.split()))
    titled = re.compile(rf"\b(?:{'|'.join(TITLES)})\.? {re.escape(last)}(?![\w\u2019-])")
    plain = [p for p in dict.fromkeys((first, last)) if p not in COMMON_WORDS and len(p) > 2]
    found = []
    for source in files:
        candidates = sorted(set(source.words.get(first, ())) | set(source.words.get(last, ())))
        for number in candidates:
            line = source.lines[number - 1]
            hits = []
            if full.search(line):
                hits.append(person.name)
            elif titled.search(line):
                hits.append(last)
            else:
                hits += [part for part in plain if number in source.words.get(part, ())]
            for part in hits:
                role = (
                    "name"
                    if part == person.name
                    else ("first name" if part == first else "surname")
                )
                found.append(
                    Problem(
                        display_path(source.path),
                        number,
                        f"{part!r} is the {role} of {person.name} (module {person.module}, "
                        f"{where}); one name, one person: choose another name here",
                    )
                )
    return found


def _titled_strangers(register: PeopleRegister, sources: dict[str, list[_Source]]) -> list[Problem]:
    """'Mr/Mrs/Ms/Miss/Dr Surname' in a module whose register entries have no such surname."""
    surnames: dict[str, set[str]] = {}
    for person in register.people:
        surnames.setdefault(person.module, set()).add(person.parts[1])
    registered = {person.parts[1] for person in register.people}  # elsewhere: a reuse error
    word = r"[A-Z][\w\u2019'-]*[a-z]"
    pattern = re.compile(rf"\b(?:{'|'.join(TITLES)})\.? ((?:{word} )*{word})\b")
    found = []
    for owner, files in sources.items():
        known = surnames.get(owner, set())
        for source in files:
            for number, line in enumerate(source.lines, 1):
                for match in pattern.finditer(line):
                    name = _surname(match.group(1))
                    if name in known or name in registered or name in COMMON_WORDS:
                        continue
                    found.append(
                        Problem(
                            display_path(source.path),
                            number,
                            f"{match.group(0).split()[0]} {name} is not in the people register for {owner!r}; "
                            f"add them to {PEOPLE_FILE} (name, age, background, module: {owner})",
                            warning=True,
                        )
                    )
    return found


def _surname(words: str) -> str:
    """The surname in a titled name: the last word, or the possessive that ends the name
    ("Mr Hughes's HbA1c" is Mr Hughes)."""
    parts = words.split()
    for index, part in enumerate(parts):
        if re.search(r"['\u2019]s$", part):
            parts = parts[: index + 1]
            break
    return re.sub(r"['\u2019]s$", "", parts[-1])


def missing_register(modules_root: Path) -> Problem:
    """The single warning when a curriculum's ``modules/`` has no register."""
    return Problem(
        display_path(modules_root / PEOPLE_FILE),
        1,
        "there is no people register: list every character once (name, age, background, "
        "module) so that check can keep one name to one person",
        warning=True,
    )
