"""Content as validated data: modules, reflection prompts and vignettes loaded from YAML.

``check_paths`` (the author's checker, with the course and exercise checks it pulls in) loads on
first use, so a learner's kernel does not carry it.
"""

from typing import TYPE_CHECKING, Any

from ._conditions import Condition
from ._course import find_courses, load_course
from ._curriculum import FRAMEWORKS, Outcome, SelfCheckQuestion
from ._debrief import Debrief, DebriefStep
from ._engine import ExpertPath, Rules, State
from ._errors import ContentError, Problem
from ._models import (
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
    Variant,
    VignetteSpec,
)
from ._module import ModuleContent, find_modules, load_module
from ._notebook import APP_PATH, app_module_path, drop_link_cell
from ._order import display_order, in_order
from ._scaffold import new_module
from ._schema import validate
from ._spread import curriculum_spread
from ._techniques import NURSE, TECHNIQUES, Technique, describe_techniques, takes_opportunity
from ._vignette import ChoiceNotOffered, Step, Vignette, Walk, lint_vignette, load_vignette
from ._yaml import read_yaml

if TYPE_CHECKING:
    from ._check import check_paths

__all__ = [
    "APP_PATH",
    "FRAMEWORKS",
    "NURSE",
    "SCHEMA_VERSION",
    "STREAM_TITLES",
    "TECHNIQUES",
    "Choice",
    "ChoiceNotOffered",
    "Condition",
    "ContentError",
    "Counter",
    "Debrief",
    "DebriefStep",
    "ExpertPath",
    "Module",
    "ModuleContent",
    "Node",
    "Outcome",
    "Perspective",
    "Problem",
    "Reference",
    "ReflectionPart",
    "ReflectionPrompt",
    "Route",
    "Rules",
    "SelfCheckQuestion",
    "State",
    "Step",
    "Technique",
    "Variant",
    "Vignette",
    "VignetteSpec",
    "Walk",
    "app_module_path",
    "check_paths",
    "curriculum_spread",
    "describe_techniques",
    "display_order",
    "drop_link_cell",
    "find_courses",
    "find_modules",
    "in_order",
    "lint_vignette",
    "load_course",
    "load_module",
    "load_vignette",
    "new_module",
    "read_yaml",
    "takes_opportunity",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name == "check_paths":
        from ._check import check_paths

        return check_paths
    raise AttributeError(f"module 'courseware.content' has no attribute {name!r}")
