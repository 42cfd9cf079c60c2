"""ipywidgets views over the content models; every rule lives on the model, not here."""

from ._common import Context
from ._module import ModuleView, open_module
from ._records import CertificateView, my_progress
from ._reflection import Reflection, word_count
from ._selfcheck import SelfCheck
from ._vignette import VignetteView, restore_walk

__all__ = [
    "CertificateView",
    "Context",
    "ModuleView",
    "Reflection",
    "SelfCheck",
    "VignetteView",
    "my_progress",
    "open_module",
    "restore_walk",
    "word_count",
]
