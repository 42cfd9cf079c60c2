"""ipywidgets views over the content models; every rule lives on the model, not here."""

from ._common import Context
from ._module import ModuleView, open_module
from ._reflection import Reflection, word_count
from ._selfcheck import SelfCheck
from ._vignette import VignetteView, restore_walk

__all__ = [
    "Context",
    "ModuleView",
    "Reflection",
    "SelfCheck",
    "VignetteView",
    "open_module",
    "restore_walk",
    "word_count",
]
