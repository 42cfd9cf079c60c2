"""Content as validated data: modules, reflection prompts and vignettes loaded from YAML.

This is content's whole public surface: other packages import from here, never from a private
module. The author's tools (``check_paths``, ``check_vignette``, ``lint_vignette``: the checker
with the vignette lint and the course and exercise checks it pulls in) and the server-side helpers
(courses, portfolio, scaffold, the pydantic ``Model``) load on first use, so a learner's kernel
never carries them.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr as _lazy_getattr
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
from ._coding import (
    BLOCKING,
    CODES,
    CODING_SCHEMA,
    NURSE_CODES,
    CodeResult,
    CoderUnavailable,
    Coding,
    Evidence,
    provides_space,
)
from ._conditions import Condition
from ._course import load_course
from ._curriculum import FRAMEWORKS, Outcome, SelfCheckQuestion
from ._debrief import Debrief, DebriefStep
from ._engine import ExpertPath, Rules, State
from ._errors import ContentError, Problem, display_path, load_each
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
from ._kinds import register_checker
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
from ._module import ModuleContent, find_modules, load_module, loadable_modules
from ._order import Ordered, display_order, in_order
from ._schema import (
    Data,
    Ge,
    Gt,
    Le,
    MaxLen,
    MinLen,
    OneOf,
    Slug,
    Text,
    load_validated,
    validate,
)
from ._techniques import NURSE, TECHNIQUES, Technique, describe_techniques, takes_opportunity
from ._vignette import ChoiceNotOffered, Step, Vignette, Walk, load_vignette, media_path
from ._yaml import YamlDocument, read_yaml

if TYPE_CHECKING:
    from ._check import check_paths
    from ._course import Course, find_courses, load_course, loadable_courses
    from ._lint import check_vignette, lint_vignette
    from ._notebook import APP_PATH, app_module_path, drop_link_cell
    from ._portfolio import Format, portfolio_entries, render_portfolio
    from ._privacy import privacy_warning
    from ._pydantic import Model
    from ._runs import CODED, DRAFT, RESTART, STEP, WRITE, replay_walk
    from ._scaffold import ScaffoldError, new_module
    from ._spread import curriculum_spread

__all__ = [
    "APP_PATH",
    "BLOCKING",
    "CODED",
    "CODES",
    "CODING_SCHEMA",
    "DRAFT",
    "EXERCISE_OPTIONS",
    "FRAMEWORKS",
    "MEDIA_TYPES",
    "NOT_APPLICABLE",
    "NURSE",
    "NURSE_CODES",
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
    "CodeResult",
    "CoderUnavailable",
    "Coding",
    "ComposeAttempt",
    "ComposeResponseSpec",
    "Condition",
    "ContentError",
    "Counter",
    "Course",
    "CueAttempt",
    "CueSpottingSpec",
    "Data",
    "Debrief",
    "DebriefStep",
    "Evidence",
    "ExerciseSpec",
    "ExpertPath",
    "Format",
    "Ge",
    "Gt",
    "ItemId",
    "Le",
    "LikertAttempt",
    "LikertSpec",
    "MaxLen",
    "MinLen",
    "Model",
    "Module",
    "ModuleContent",
    "Node",
    "NotAllowed",
    "NotesAttempt",
    "OneOf",
    "Ordered",
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
    "ScaffoldError",
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
    "app_module_path",
    "check_paths",
    "check_vignette",
    "curriculum_spread",
    "describe_techniques",
    "display_order",
    "display_path",
    "drop_link_cell",
    "find_courses",
    "find_modules",
    "format_clock",
    "in_order",
    "lint_vignette",
    "load_course",
    "load_each",
    "load_module",
    "load_validated",
    "load_vignette",
    "loadable_courses",
    "loadable_modules",
    "media_path",
    "new_module",
    "portfolio_entries",
    "privacy_warning",
    "provides_space",
    "read_yaml",
    "register_checker",
    "render_portfolio",
    "replay_walk",
    "takes_opportunity",
    "validate",
    "words",
]

_LAZY = {
    "check_paths": "._check",
    "Course": "._course",
    "find_courses": "._course",
    "load_course": "._course",
    "loadable_courses": "._course",
    "check_vignette": "._lint",
    "lint_vignette": "._lint",
    "APP_PATH": "._notebook",
    "app_module_path": "._notebook",
    "drop_link_cell": "._notebook",
    "Format": "._portfolio",
    "portfolio_entries": "._portfolio",
    "render_portfolio": "._portfolio",
    "privacy_warning": "._privacy",
    "Model": "._pydantic",
    "CODED": "._runs",
    "DRAFT": "._runs",
    "RESTART": "._runs",
    "STEP": "._runs",
    "WRITE": "._runs",
    "replay_walk": "._runs",
    "ScaffoldError": "._scaffold",
    "new_module": "._scaffold",
    "curriculum_spread": "._spread",
}
"""Names whose modules load on first use (the author's tools, server-side helpers), by module."""


__getattr__ = _lazy_getattr(__name__, _LAZY)
