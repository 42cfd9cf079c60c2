"""A learner's own record: which modules they started and completed, time spent, reflections.

Everything here is computed from the learner's events in the store, so it needs no extra
bookkeeping and always agrees with what the exercises saved.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..content import Course, ModuleContent, replay_walk
from ..content import words as count_words
from ..store import Event, Store

IDLE_GAP_SECONDS = 10 * 60
"""A pause longer than this between two events is a break, not study time."""
FIRST_EVENT_SECONDS = 60
"""Study time credited for the first event of each sitting (reading before the first click)."""

REFLECTION_SAVED = "reflection.saved"
SELF_CHECK_ANSWER = "selfcheck.answer"


@dataclass(frozen=True)
class ExerciseStatus:
    """One exercise of a module and whether the learner has done it."""

    kind: str
    id: str
    title: str
    done: bool


@dataclass(frozen=True)
class ModuleProgress:
    """How far one learner has got with one module."""

    module_id: str
    title: str
    minutes_planned: int
    cpd_hours: float | None
    exercises: tuple[ExerciseStatus, ...]
    minutes_spent: float
    reflections_written: int
    reflection_words: int
    started: bool

    @property
    def completed(self) -> bool:
        return bool(self.exercises) and all(e.done for e in self.exercises)

    @property
    def remaining(self) -> list[str]:
        return [e.title for e in self.exercises if not e.done]

    @property
    def hours_credited(self) -> float:
        """CPD hours if the module sets them, else its planned minutes, once it is completed."""
        if not self.completed:
            return 0.0
        return self.cpd_hours if self.cpd_hours is not None else self.minutes_planned / 60


def study_minutes(times: Iterable[float]) -> float:
    """Estimated minutes of study from event times: gaps over the idle limit count as breaks."""
    ordered = sorted(times)
    if not ordered:
        return 0.0
    seconds = float(FIRST_EVENT_SECONDS)
    for before, after in itertools.pairwise(ordered):
        gap = after - before
        seconds += gap if gap <= IDLE_GAP_SECONDS else FIRST_EVENT_SECONDS
    return seconds / 60


def module_progress(content: ModuleContent, events: Sequence[Event]) -> ModuleProgress:
    """Progress through ``content`` from one learner's events for that module."""
    by_item: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_item[event.item].append(event)
    spec = content.spec
    exercises: list[ExerciseStatus] = []
    for vignette_id, vignette in content.vignettes.items():
        walk = replay_walk(vignette, by_item.get(vignette_id, []))
        exercises.append(ExerciseStatus("vignette", vignette_id, vignette.title, walk.finished))
    words = written = 0
    for prompt in spec.reflections:
        saved = [e for e in by_item.get(prompt.id, []) if e.kind == REFLECTION_SAVED]
        text = str(saved[-1].value.get("text", "")) if saved else ""
        if text.strip():
            written += 1
            words += count_words(text)
        exercises.append(ExerciseStatus("reflection", prompt.id, prompt.title, bool(text.strip())))
    if spec.self_check:
        answered = all(
            any(e.kind == SELF_CHECK_ANSWER for e in by_item.get(f"self-check/{q.id}", []))
            for q in spec.self_check
        )
        exercises.append(ExerciseStatus("self-check", "self-check", "Self-check", answered))
    return ModuleProgress(
        module_id=spec.id,
        title=spec.title,
        minutes_planned=spec.minutes,
        cpd_hours=spec.cpd_hours,
        exercises=tuple(exercises),
        minutes_spent=study_minutes(e.time for e in events),
        reflections_written=written,
        reflection_words=words,
        started=bool(events),
    )


def learner_progress(
    store: Store, learner: str, modules: Iterable[ModuleContent]
) -> list[ModuleProgress]:
    """Progress through each module, from one query of the learner's events."""
    by_module: dict[str, list[Event]] = defaultdict(list)
    for event in store.events(learner=learner):
        by_module[event.module].append(event)
    return [module_progress(m, by_module.get(m.id, [])) for m in modules]


@dataclass(frozen=True)
class CourseProgress:
    """A learner's way through a course's modules, in the course's order."""

    course_id: str
    title: str
    modules: tuple[ModuleProgress, ...]
    missing: tuple[str, ...]

    @property
    def completed_count(self) -> int:
        return sum(m.completed for m in self.modules)

    @property
    def total(self) -> int:
        return len(self.modules) + len(self.missing)

    @property
    def hours_completed(self) -> float:
        return sum(m.minutes_planned for m in self.modules if m.completed) / 60


def course_progress(course: Course, progress: Iterable[ModuleProgress]) -> CourseProgress:
    """Arrange module progress by a course's module list; modules not found are ``missing``."""
    by_id = {p.module_id: p for p in progress}
    return CourseProgress(
        course.id,
        course.title,
        tuple(by_id[m] for m in course.modules if m in by_id),
        tuple(m for m in course.modules if m not in by_id),
    )
