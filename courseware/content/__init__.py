"""Content as validated data: modules, reflection prompts and vignettes loaded from YAML.

``check_paths`` (the author's checker, with the course and exercise checks it pulls in) loads on
first use, so a learner's kernel does not carry it.
"""

from typing import TYPE_CHECKING, Any

from ._conditions import Condition
from ._course import load_course
from ._curriculum import FRAMEWORKS, Outcome, SelfCheckQuestion
from ._debrief import Debrief, DebriefStep
from ._engine import ExpertPath, Rules, State
from ._errors import ContentError, Problem, display_path
from ._exercises import ItemId
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
from ._order import OrderField, check_order, display_order
from ._schema import Data, Ge, Gt, Le, MaxLen, MinLen, OneOf, Slug, Text, load_validated, validate
from ._techniques import NURSE, TECHNIQUES, Technique, describe_techniques, takes_opportunity
from ._vignette import ChoiceNotOffered, Step, Vignette, Walk, lint_vignette, load_vignette
from ._yaml import YamlDocument, read_yaml

if TYPE_CHECKING:
    from ._check import check_paths
    from ._pydantic import Model

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
    "Data",
    "Debrief",
    "DebriefStep",
    "ExpertPath",
    "Ge",
    "Gt",
    "ItemId",
    "Le",
    "MaxLen",
    "MinLen",
    "Model",
    "Module",
    "ModuleContent",
    "Node",
    "OneOf",
    "OrderField",
    "Outcome",
    "Perspective",
    "Problem",
    "Reference",
    "ReflectionPart",
    "ReflectionPrompt",
    "Route",
    "Rules",
    "SelfCheckQuestion",
    "Slug",
    "State",
    "Step",
    "Technique",
    "Text",
    "Variant",
    "Vignette",
    "VignetteSpec",
    "Walk",
    "YamlDocument",
    "check_order",
    "check_paths",
    "describe_techniques",
    "display_order",
    "display_path",
    "find_modules",
    "lint_vignette",
    "load_course",
    "load_module",
    "load_validated",
    "load_vignette",
    "read_yaml",
    "takes_opportunity",
    "validate",
]


_LAZY = {
    "check_paths": "._check",
    "Model": "._pydantic",
}
"""Names whose modules load on first use (the author's tools; pydantic, for server-side files)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'courseware.content' has no attribute {name!r}")
