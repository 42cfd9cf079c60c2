"""nbgrader for several courses on one hub: install as /etc/jupyter/nbgrader_config.py.

Every learner's server (and each course's formgrader) reads this. Courses are JupyterHub groups,
as nbgrader's multi-course setup expects: ``nbgrader-<course>`` for learners and
``formgrade-<course>`` for graders. The exchange is one shared folder (on Kubernetes, a
ReadWriteMany volume mounted at the same path in every pod); with ``path_includes_course``,
each course's assignments live under their own course id, so two courses may both have a
"week-1".

nbgrader reads this file first and then the ``nbgrader_config.py`` of the folder it runs in: a
course's formgrader service runs in its course folder (``COURSEWARE_FORMGRADERS``), as does an
instructor's ``nbgrader`` or ``courseware grade`` command. The course folder's file (a copy of
``assignments/nbgrader_config.py`` with the course's own ``course_id``) sets what is per course,
above all ``COURSEWARE_KEYS``, the course's answer keys. The two settings below are the same for
every course and are set here as well, so no formgrader on the hub can release feedback that shows
hidden tests, drop a test cell a learner deleted, or run a learner's HTML in a tutor's browser,
even where a course folder lacks its file.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.auth import JupyterHubAuthPlugin
from nbgrader.preprocessors import GetGrades

from courseware.grading import (
    EscapeLearnerHTML,
    FlagUnmarkedInFeedback,
    HideTestsInFeedback,
    ReleaseFeedback,
    safe_markdown2html,
)

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.path_includes_course = True
# Which courses a learner may list, fetch from and submit to comes from their hub groups.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
# A learner who deletes a test cell gets it back, so it still runs (and still marks).
c.OverwriteCells.add_missing_cells = True
# Feedback never shows hidden tests, their output or an answer key, names unmarked parts and says
# when a flagged submission's score is still provisional.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    CSSHTMLHeaderPreprocessor,
    HideTestsInFeedback,
    FlagUnmarkedInFeedback,
]
# Learners' and markers' HTML shows as text in the formgrader and in feedback, never runs.
c.HTMLExporter.filters = {"markdown2html": safe_markdown2html}
c.HTMLExporter.preprocessors = [EscapeLearnerHTML]
# Feedback for a submission placed in submitted/ by hand is passed over with a warning.
c.ExchangeFactory.release_feedback = ReleaseFeedback
