"""The curriculum's spread: the ages of its people and the settings of its cases.

A curriculum whose patients are all 50 to 84 and whose cases all happen on a ward teaches less
than it could. ``courseware check`` prints this summary after the problem count whenever it checks
a whole ``modules/`` folder: ages come from the people register (entries with an ``age``), settings
from each case's ``setting``. It is a report, not a problem: nothing here fails a check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from ._errors import ContentError
from ._models import Setting, VignetteSpec
from ._module import module_specs
from ._schema import load_validated

__all__ = ["AGE_BANDS", "CurriculumSpread", "curriculum_spread"]

AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("under 18", 0, 17),
    ("18-29", 18, 29),
    ("30-49", 30, 49),
    ("50-69", 50, 69),
    ("70-84", 70, 84),
    ("85+", 85, 200),
)
"""(label, youngest, oldest) of each age band, youngest first."""

SETTINGS: tuple[str, ...] = get_args(Setting)


def age_band(age: int) -> str:
    """The label of the band that holds ``age``."""
    return next(label for label, low, high in AGE_BANDS if low <= age <= high)


@dataclass(frozen=True)
class CurriculumSpread:
    """How many people fall in each age band and how many cases happen in each setting.

    Every band and every setting is present (zero when empty), in a fixed order, so a gap shows.
    """

    ages: dict[str, int] = field(default_factory=dict)
    settings: dict[str, int] = field(default_factory=dict)
    people: int = 0  # register entries, with an age or without
    cases_without_setting: int = 0

    @property
    def aged(self) -> int:
        return sum(self.ages.values())

    @property
    def cases(self) -> int:
        return sum(self.settings.values()) + self.cases_without_setting

    def summary(self) -> list[str]:
        """A few lines for the terminal."""
        ages = ", ".join(f"{label} {n}" for label, n in self.ages.items())
        used = sorted(
            ((n, s) for s, n in self.settings.items() if n), key=lambda item: (-item[0], item[1])
        )
        unused = [s for s, n in self.settings.items() if not n]
        lines = [
            f"ages of {self.aged} of {self.people} people in the register: {ages or 'none'}",
            f"settings of {self.cases} case{'' if self.cases == 1 else 's'}: "
            + (", ".join(f"{s} {n}" for n, s in used) or "none")
            + (
                f"; no setting given: {self.cases_without_setting}"
                if self.cases_without_setting
                else ""
            ),
        ]
        if unused:
            lines.append(f"settings with no case yet: {', '.join(unused)}")
        return lines


def curriculum_spread(modules_root: str | Path) -> CurriculumSpread:
    """The spread of the curriculum in ``modules_root`` (a ``modules/`` folder with its
    ``people.yaml``). Files that do not load are left out: ``courseware check`` reports them."""
    from ._people import PEOPLE_FILE, PeopleRegister

    root = Path(modules_root)
    ages = {label: 0 for label, _, _ in AGE_BANDS}
    people = 0
    register = root / PEOPLE_FILE
    if register.is_file():
        try:
            _, loaded = load_validated(register, PeopleRegister)
        except ContentError:
            loaded = PeopleRegister()
        people = len(loaded.people)
        for person in loaded.people:
            if person.age is not None:
                ages[age_band(person.age)] += 1
    settings = dict.fromkeys(SETTINGS, 0)
    without = 0
    for doc, module in module_specs(root):
        for relative in module.vignettes:
            try:
                _, case = load_validated(doc.path.parent / relative, VignetteSpec)
            except ContentError:
                continue
            if case.setting is None:
                without += 1
            else:
                settings[case.setting] += 1
    return CurriculumSpread(ages, settings, people, without)
