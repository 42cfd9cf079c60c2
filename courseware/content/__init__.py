"""Content as validated data: modules, reflection prompts and vignettes loaded from YAML."""

from ._check import check_paths
from ._curriculum import FRAMEWORKS, Outcome, SelfCheckQuestion
from ._errors import ContentError, Problem
from ._models import (
    SCHEMA_VERSION,
    STREAM_TITLES,
    Choice,
    Module,
    Node,
    Reference,
    ReflectionPrompt,
    VignetteSpec,
)
from ._module import ModuleContent, find_modules, load_module
from ._vignette import ChoiceNotOffered, Step, Vignette, Walk, lint_vignette, load_vignette

__all__ = [
    "FRAMEWORKS",
    "SCHEMA_VERSION",
    "STREAM_TITLES",
    "Choice",
    "ChoiceNotOffered",
    "ContentError",
    "Module",
    "ModuleContent",
    "Node",
    "Outcome",
    "Problem",
    "Reference",
    "ReflectionPrompt",
    "SelfCheckQuestion",
    "Step",
    "Vignette",
    "VignetteSpec",
    "Walk",
    "check_paths",
    "find_modules",
    "lint_vignette",
    "load_module",
    "load_vignette",
]
