"""Feedback that never shows a learner the hidden tests, their output or an answer key.

nbgrader's ``generate_feedback`` renders the autograded notebook, in which every test cell has its
hidden tests restored and its output (tracebacks, printed reasons) kept. This preprocessor, added to
``GenerateFeedback.preprocessors`` in the course's ``nbgrader_config.py``, replaces each autograder
test cell's source with a one-line note and drops its outputs; any hidden-test region left anywhere
else is cut too. Scores and tutors' comments still show, since nbgrader reads them from the gradebook.
"""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
TEST_NOTE = "# Automatic check: its code and output are not shown in feedback."


def _is_autograder_test(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"))


def strip_hidden(source: str) -> str:
    """Remove every ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region (an unclosed one
    runs to the end of the cell)."""
    kept: list[str] = []
    hidden = False
    for line in source.splitlines(keepends=True):
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line and hidden:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)


class HideTestsInFeedback(Preprocessor):
    """Blank autograder test cells and cut hidden-test regions before feedback is rendered."""

    # nbconvert registers configured preprocessors disabled; this one must always run.
    enabled = Bool(True, help="Hide tests in feedback (leave on)").tag(config=True)

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], index: int
    ) -> tuple[Any, dict[str, Any]]:
        if _is_autograder_test(cell):
            cell.source = TEST_NOTE
            cell.outputs = []
        elif BEGIN_HIDDEN in cell.get("source", ""):
            cell.source = strip_hidden(cell.source)
            if cell.get("cell_type") == "code":
                cell.outputs = []
        return cell, resources
