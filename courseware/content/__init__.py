"""Content as validated data: modules, reflection prompts and vignettes loaded from YAML.

``check_paths`` (the author's checker, with the course and exercise checks it pulls in) loads on
first use, so a learner's kernel does not carry it.
"""

from typing import TYPE_CHECKING, Any

from ._attempts import (
    Attempt,
    ComposeAttempt,
    CueAttempt,
    LikertAttempt,
    NotAllowed,
    NotesAttempt,
    ResponseChoiceAttempt,
    TimedAttempt,
    format_clock,
    words,
)
from ._conditions import Condition
from ._course import Course, find_courses, load_course
from ._curriculum import FRAMEWORKS, Outcome, SelfCheckQuestion
from ._debrief import Debrief, DebriefStep
from ._engine import ExpertPath, Rules, State
from ._errors import ContentError, Problem, display_path
from ._exercises import (
    EXERCISE_OPTIONS,
    NOT_APPLICABLE,
    CloseReadingSpec,
    ComposeResponseSpec,
    CueSpottingSpec,
    ExerciseSpec,
    ItemId,
    LikertSpec,
    ParallelChartSpec,
    ResponseChoiceSpec,
    TimedWriteSpec,
)
from ._models import (
    MEDIA_TYPES,
    SCHEMA_VERSION,
    STREAM_TITLES,
    Choice,
    Counter,
    Module,
    Node,
    Perspective,
    Reference,
    ReflectionPart,
    ReflectionPrompt,
    Route,
    Stream,
    Variant,
    VignetteSpec,
)
from ._module import ModuleContent, find_modules, load_module
from ._order import display_order, in_order
from ._portfolio import Format, portfolio_entries, render_portfolio
from ._privacy import privacy_warning
from ._runs import CODED, DRAFT, RESTART, STEP, WRITE, replay_walk
from ._schema import Slug, Text, validate
from ._techniques import NURSE, TECHNIQUES, Technique, describe_techniques, takes_opportunity
from ._vignette import (
    ChoiceNotOffered,
    Step,
    Vignette,
    Walk,
    lint_vignette,
    load_vignette,
    media_path,
)
from ._yaml import YamlDocument, read_yaml

if TYPE_CHECKING:
    from ._check import check_paths
    from ._pydantic import Model

__all__ = [
    "CODED",
    "DRAFT",
    "EXERCISE_OPTIONS",
    "FRAMEWORKS",
    "MEDIA_TYPES",
    "NOT_APPLICABLE",
    "NURSE",
    "RESTART",
    "SCHEMA_VERSION",
    "STEP",
    "STREAM_TITLES",
    "TECHNIQUES",
    "WRITE",
    "Attempt",
    "Choice",
    "ChoiceNotOffered",
    "CloseReadingSpec",
    "ComposeAttempt",
    "ComposeResponseSpec",
    "Condition",
    "ContentError",
    "Counter",
    "Course",
    "CueAttempt",
    "CueSpottingSpec",
    "Debrief",
    "DebriefStep",
    "ExerciseSpec",
    "ExpertPath",
    "Format",
    "ItemId",
    "LikertAttempt",
    "LikertSpec",
    "Model",
    "Module",
    "ModuleContent",
    "Node",
    "NotAllowed",
    "NotesAttempt",
    "Outcome",
    "ParallelChartSpec",
    "Perspective",
    "Problem",
    "Reference",
    "ReflectionPart",
    "ReflectionPrompt",
    "ResponseChoiceAttempt",
    "ResponseChoiceSpec",
    "Route",
    "Rules",
    "SelfCheckQuestion",
    "Slug",
    "State",
    "Step",
    "Stream",
    "Technique",
    "Text",
    "TimedAttempt",
    "TimedWriteSpec",
    "Variant",
    "Vignette",
    "VignetteSpec",
    "Walk",
    "YamlDocument",
    "check_paths",
    "describe_techniques",
    "display_order",
    "display_path",
    "find_courses",
    "find_modules",
    "format_clock",
    "in_order",
    "lint_vignette",
    "load_course",
    "load_module",
    "load_vignette",
    "media_path",
    "portfolio_entries",
    "privacy_warning",
    "read_yaml",
    "render_portfolio",
    "replay_walk",
    "takes_opportunity",
    "validate",
    "words",
]


def __getattr__(name: str) -> Any:
    if name == "check_paths":
        from ._check import check_paths

        return check_paths
    if name == "Model":  # pydantic: for server-side files only, so a kernel never loads it
        from ._pydantic import Model

        return Model
    raise AttributeError(f"module 'courseware.content' has no attribute {name!r}")
