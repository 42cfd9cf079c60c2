"""Evaluation: survey and store responses in, scored and analysed, out as a report or dashboard.

pandas, scipy and matplotlib are imported here (never by ``import courseware``): only an evaluation
lead's session needs them. scipy comes with the ``analytics`` extra; without it, this import raises
one sentence saying what to install (an ``ImportError`` and a ``CoursewareError``).
"""

from . import _extra

try:
    import scipy  # noqa: F401 - first, so that a missing extra is named before any module needs it
except ImportError as exc:
    raise _extra.MissingExtra("scipy") from exc

from ._analysis import DEFAULT_MIN_GROUP, DEFAULT_WAVES, Design, Evaluation, analyse
from ._dashboard import dashboard
from ._demo import write_demo
from ._evaluate import (
    CONFIG_ENV,
    EvaluationConfig,
    EvaluationSetup,
    evaluate,
    load_config,
    setup_from_options,
    write_report,
)
from ._export import figures, write_csv, write_json
from ._mapping import ColumnMapping, SurveyMapping, load_mapping
from ._problems import DataError, DataProblem
from ._pseudonym import Pseudonyms
from ._read_levels import REFLECT_LEVELS, read_levels
from ._read_store import CODED_KINDS, LIKERT_KIND, likert_value, read_coded_replies, read_store
from ._read_survey import read_roster, read_survey_export
from ._report import build_sections, render_report, render_summary, save_report, save_summary
from ._responses import Combined, Responses, combine
from ._stats import (
    ancova,
    cohen_dz,
    compare_groups,
    cronbach_alpha,
    detectable_dz,
    hedges_g,
    hedges_g_av,
    paired,
    pairs_needed,
    wilson,
)

__all__ = [
    "CODED_KINDS",
    "CONFIG_ENV",
    "DEFAULT_MIN_GROUP",
    "DEFAULT_WAVES",
    "LIKERT_KIND",
    "REFLECT_LEVELS",
    "ColumnMapping",
    "Combined",
    "DataError",
    "DataProblem",
    "Design",
    "Evaluation",
    "EvaluationConfig",
    "EvaluationSetup",
    "Pseudonyms",
    "Responses",
    "SurveyMapping",
    "analyse",
    "ancova",
    "build_sections",
    "cohen_dz",
    "combine",
    "compare_groups",
    "cronbach_alpha",
    "dashboard",
    "detectable_dz",
    "evaluate",
    "figures",
    "hedges_g",
    "hedges_g_av",
    "likert_value",
    "load_config",
    "load_mapping",
    "paired",
    "pairs_needed",
    "read_coded_replies",
    "read_levels",
    "read_roster",
    "read_store",
    "read_survey_export",
    "render_report",
    "render_summary",
    "save_report",
    "save_summary",
    "setup_from_options",
    "wilson",
    "write_csv",
    "write_demo",
    "write_json",
    "write_report",
]
