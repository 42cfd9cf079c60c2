"""Content as validated data: modules, reflection prompts and vignettes loaded from YAML.

The author's tools (``check_paths``, ``check_vignette``, ``lint_vignette``: the checker with the
vignette lint and the course and exercise checks it pulls in) load on first use, so a learner's
kernel never carries them.
"""

from typing import TYPE_CHECKING, Any

from ._attempts import words
from ._conditions import Condition
from ._curriculum import FRAMEWORKS, Outcome, SelfCheckQuestion
from ._debrief import Debrief, DebriefStep
from ._engine import ExpertPath, Rules, State
from ._errors import ContentError, Problem
from ._kinds import register_checker
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
from ._module import ModuleContent, find_modules, load_module, loadable_modules
from ._techniques import NURSE, TECHNIQUES, Technique, describe_techniques, takes_opportunity
from ._vignette import ChoiceNotOffered, Step, Vignette, Walk, load_vignette

if TYPE_CHECKING:
    from ._check import check_paths
    from ._lint import check_vignette, lint_vignette

__all__ = [
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
    "check_paths",
    "check_vignette",
    "describe_techniques",
    "find_modules",
    "lint_vignette",
    "load_module",
    "load_vignette",
    "loadable_modules",
    "register_checker",
    "takes_opportunity",
    "words",
]


_LAZY = {
    "check_paths": "._check",
    "check_vignette": "._lint",
    "lint_vignette": "._lint",
}
"""Names whose modules load on first use (the author's tools), by module."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'courseware.content' has no attribute {name!r}")
