"""ipywidgets views over the content models; every rule lives on the model, not here."""

from ._choices import ComposeResponse, ResponseChoice
from ._common import Context
from ._cues import CueSpotting
from ._exercise import ExerciseView
from ._likert import LikertScale
from ._module import ModuleView, open_module
from ._portfolio import PortfolioExport, export_portfolio
from ._records import CertificateView, my_progress
from ._reflection import Reflection, word_count
from ._selfcheck import SelfCheck
from ._vignette import VignetteView, restore_walk
from ._writing import CloseReading, ParallelChart, TimedWrite

__all__ = [
    "CertificateView",
    "CloseReading",
    "ComposeResponse",
    "Context",
    "CueSpotting",
    "ExerciseView",
    "LikertScale",
    "ModuleView",
    "ParallelChart",
    "PortfolioExport",
    "Reflection",
    "ResponseChoice",
    "SelfCheck",
    "TimedWrite",
    "VignetteView",
    "export_portfolio",
    "my_progress",
    "open_module",
    "restore_walk",
    "word_count",
]
