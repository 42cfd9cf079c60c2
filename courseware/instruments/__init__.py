"""Empathy instruments as data: scoring keys, institution-supplied wording, scoring.

Shipped keys (``keys/*.yaml``): the Jefferson Scale of Empathy (student and health-professional
versions), the Interpersonal Reactivity Index, the Toronto Empathy Questionnaire, the CARE measure,
ProQOL 5, and the project's own "confidence in empathic communication" scale. Only the last ships its
item wording; the others' wording is loaded from the institution's licensed copy.
"""

from ._load import builtin_instrument, load_instrument, load_instruments
from ._models import (
    TOTAL,
    Instrument,
    InstrumentSpec,
    Item,
    MissingRule,
    ResponseScale,
    Scale,
    Subscale,
)
from ._score import MISSING_SUFFIX, reverse_keyed, score
from ._wording import Wording, load_wording, shipped_wording

__all__ = [
    "MISSING_SUFFIX",
    "TOTAL",
    "Instrument",
    "InstrumentSpec",
    "Item",
    "MissingRule",
    "ResponseScale",
    "Scale",
    "Subscale",
    "Wording",
    "builtin_instrument",
    "load_instrument",
    "load_instruments",
    "load_wording",
    "reverse_keyed",
    "score",
    "shipped_wording",
]
