"""Packages that add their own kinds of content file to ``courseware check``.

Each module named here registers its checker with :func:`courseware.content.register_checker`
when imported. ``check_paths`` imports them by name before a check, so the dependency runs one way
(grading imports content; content never imports grading) and a new package joins the check by
adding one line here.
"""

from __future__ import annotations

CHECKER_MODULES = ("courseware.grading._check",)
"""Modules whose import registers a checker: rubrics, answer keys, assessed items (grading)."""
