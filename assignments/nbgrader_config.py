"""nbgrader configuration for the courseware's assessed assignments.

This folder is an nbgrader course directory: run nbgrader (and ``courseware grade``) from here.
See docs/grading.md for the whole cycle.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from courseware.grading import HideTestsInFeedback

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "clinical-empathy"
# Hidden test cells read the answer key from here; it is never released to learners.
os.environ.setdefault(
    "COURSEWARE_KEYS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "keys")
)
# A learner who deletes a test cell gets it back, so it still runs (and still marks).
c.OverwriteCells.add_missing_cells = True
# A cell that runs longer than this is interrupted (an infinite loop costs one cell, not the batch).
c.Execute.timeout = 30
# Feedback never shows hidden tests, their output or an answer key.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideTestsInFeedback]
