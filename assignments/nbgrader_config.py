"""nbgrader configuration for the courseware's assessed assignments.

This folder is an nbgrader course directory: run nbgrader (and ``courseware grade``) from here.
See docs/grading.md for the whole cycle.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from courseware.grading import (
    EscapeLearnerHTML,
    FlagUnmarkedInFeedback,
    HideTestsInFeedback,
    ReleaseFeedback,
    safe_markdown2html,
)

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

HERE = os.path.dirname(os.path.abspath(__file__))


def folder_here(name):
    """A folder beside this file, created if missing."""
    path = os.path.join(HERE, name)
    os.makedirs(path, exist_ok=True)
    return path


c.CourseDirectory.course_id = "clinical-empathy"
# Where release_assignment, collect and release_feedback exchange files with learners. nbgrader's
# default, /srv/nbgrader/exchange, is a system folder only root can create: this course keeps its
# exchange in exchange/ beside this file unless NBGRADER_EXCHANGE names another (as on a hub).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE") or folder_here("exchange")
# Hidden test cells read the answer key from here; it is never released to learners.
os.environ.setdefault("COURSEWARE_KEYS", os.path.join(HERE, "keys"))
# A learner who deletes a test cell gets it back, so it still runs (and still marks).
c.OverwriteCells.add_missing_cells = True
# A cell that runs longer than this is interrupted (an infinite loop costs one cell, not the batch).
c.Execute.timeout = 30
# Feedback never shows hidden tests, their output or an answer key, names any part not yet marked
# and says when a flagged submission's score is still provisional (the tutor is warned, by student).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    CSSHTMLHeaderPreprocessor,
    HideTestsInFeedback,
    FlagUnmarkedInFeedback,
]
# Learners' and markers' HTML shows as text, never runs: in the formgrader (served from the tutor's
# own Jupyter server) and in feedback.
c.HTMLExporter.filters = {"markdown2html": safe_markdown2html}
c.HTMLExporter.preprocessors = [EscapeLearnerHTML]
# Feedback for a submission placed in submitted/ by hand is passed over with a warning, not a crash.
c.ExchangeFactory.release_feedback = ReleaseFeedback
