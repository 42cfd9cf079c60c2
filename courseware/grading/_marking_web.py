"""The marker's view in the browser: a Jupyter server extension in a course's formgrader service.

Served at ``<base>/marking/`` (on the hub ``/services/<course>/marking/``, the service's landing
page, with a link to nbgrader's formgrader). The same rules as the terminal and notebook views:
the marker is whoever JupyterHub says is making the request (nbgrader's formgrader is
anonymous); they see their own queue, one script at a time by its anonymous id, and the rubric's
criteria as labelled radio groups in fieldsets; never a student's name or another marker's mark.
The script and every comment are escaped, so markup in them is shown as text. A mark is saved
through :func:`record_mark`, so moderation and the write-back to the gradebook work as before.
Posts need the XSRF token; a malformed one gets a 4xx page saying what is wrong.
"""

from __future__ import annotations

import html
import urllib.parse
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ._course import CourseFolder, GradingError
from ._marking import MarkingBook
from ._marking_records import Script
from ._marking_rules import mark_grade, mark_total
from ._moderation import marking_queue, marking_rubric, record_mark, script_text
from ._rubric import Rubric

STYLE = """
body { font: 1rem/1.5 system-ui, sans-serif; color: #111; background: #fff; margin: 0; }
header, main { max-width: 52rem; margin: 0 auto; padding: 0.5rem 1rem; }
header { border-bottom: 1px solid #555; }
a { color: #0b4f9c; }
:focus-visible { outline: 3px solid #0b4f9c; outline-offset: 2px; }
.script { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #555;
  padding: 0.75rem; background: #f7f7f7; }
fieldset { margin: 1rem 0; border: 1px solid #555; }
legend { font-weight: bold; }
.level { display: flex; gap: 0.5rem; align-items: baseline; margin: 0.25rem 0; }
textarea { width: 100%; min-height: 4rem; font: inherit; }
button { font: inherit; padding: 0.4rem 1rem; }
.problem { border: 2px solid #a00; padding: 0.5rem; color: #700; }
.saved { border: 2px solid #060; padding: 0.5rem; color: #040; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


class MarkingHandler(JupyterHandler):
    """Shared parts: the course, the marker, and the page frame."""

    course_root: Path

    def initialize(self, course_root: Path) -> None:
        self.course_root = course_root

    @property
    def marker(self) -> str:
        return str(self.current_user.username)

    def url(self, *parts: str) -> str:
        return str(url_path_join(self.base_url, "marking", *parts))

    def page(self, title: str, body: str, *, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        formgrader = url_path_join(self.base_url, "formgrader")
        self.finish(
            "<!doctype html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{STYLE}</style></head><body>"
            '<header><nav aria-label="Grading">'
            f'<a href="{_e(self.url())}">Rubric marking</a> · '
            f'<a href="{_e(formgrader)}">nbgrader formgrader (assignments, submissions, '
            "manual grading)</a>"
            f" · signed in as {_e(self.marker)}</nav></header>"
            f"<main>{body}</main></body></html>"
        )

    def book(self) -> MarkingBook | None:
        """The course's marking book, or None before any scripts were prepared (not created)."""
        path = CourseFolder(self.course_root).marking_db
        return MarkingBook(path) if path.is_file() else None


class HomeHandler(MarkingHandler):
    """The marker's assignments and how many scripts wait for them in each."""

    @web.authenticated
    def get(self) -> None:
        book = self.book()
        rows = []
        if book is not None:
            with book:
                for assignment in book.assignments():
                    waiting = len(marking_queue(book, assignment, self.marker))
                    rows.append(
                        f'<li><a href="{_e(self.url(urllib.parse.quote(assignment)))}">'
                        f"{_e(assignment)}</a>: {waiting} script{'s' * (waiting != 1)} "
                        "waiting for you</li>"
                    )
        listing = (
            f"<ul>{''.join(rows)}</ul>"
            if rows
            else "<p>No scripts to mark yet. The course lead prepares them with "
            "<code>courseware grade scripts</code> and allocates them with "
            "<code>courseware grade allocate</code> (docs/grading.md).</p>"
        )
        self.page(
            "Rubric marking",
            "<h1>Rubric marking</h1><p>Blind marking against the course's rubrics: one script at "
            "a time, by its anonymous id. Manually graded answers without a rubric are marked "
            "in the nbgrader formgrader.</p>" + listing,
        )


class AssignmentHandler(MarkingHandler):
    """One script of the marker's queue with the rubric form; a post records the mark."""

    @web.authenticated
    def get(self, assignment: str) -> None:
        book = self.book()
        if book is None:
            return self.page("Not found", self._none(assignment), status=404)
        with book:
            if not book.scripts(assignment):
                return self.page("Not found", self._none(assignment), status=404)
            saved = self.get_query_argument("saved", "")
            notice = self._saved_notice(book, assignment, saved) if saved else ""
            self._show(book, assignment, notice=notice)

    @web.authenticated
    def post(self, assignment: str) -> None:
        book = self.book()
        if book is None:
            return self.page("Not found", self._none(assignment), status=404)
        with book:
            form = self._form()
            if isinstance(form, str):
                return self._show(book, assignment, problem=form, status=400)
            script_id = form.get("script", "")
            try:
                script = book.script(script_id)
            except KeyError:
                script = None
            if script is None or script.assignment != assignment:
                return self._show(
                    book,
                    assignment,
                    problem=f"there is no script {script_id!r} in {assignment}",
                    status=400,
                )
            try:
                rubric = marking_rubric(self.course_root, book, assignment)
            except GradingError as exc:
                return self._show(book, assignment, problem=str(exc), status=409)
            levels = {k[6:]: v for k, v in form.items() if k.startswith("level-")}
            comments = {k[8:]: v for k, v in form.items() if k.startswith("comment-")}
            missing = [c.name for c in rubric.criteria if not levels.get(c.id)]
            problem = f"choose a level for {', '.join(missing)}" if missing else ""
            status = 400
            if not problem:
                try:
                    record_mark(
                        book,
                        rubric,
                        script.script,
                        self.marker,
                        levels,
                        comments,
                        form.get("overall", ""),
                    )
                except GradingError as exc:
                    problem = str(exc)
                    status = 403 if "is not allocated to" in problem else 400
            if problem:
                return self._show(
                    book, assignment, script=script, form=form, problem=problem, status=status
                )
        query = urllib.parse.urlencode({"saved": script.script})
        self.redirect(f"{self.url(urllib.parse.quote(assignment))}?{query}", status=303)

    # -- parts -----------------------------------------------------------------------------------
    def _none(self, assignment: str) -> str:
        return f"<h1>Rubric marking</h1><p>No scripts for {_e(assignment)}.</p>"

    def _rubric(self, book: MarkingBook, script: Script) -> Rubric:
        return marking_rubric(self.course_root, book, script.assignment)

    def _form(self) -> dict[str, str] | str:
        """The posted fields, one value each; a message if the form is malformed."""
        found: dict[str, str] = {}
        for name, values in self.request.body_arguments.items():
            if name == "_xsrf":
                continue
            if len(values) != 1:
                return f"the field {name!r} was sent {len(values)} times"
            try:
                found[name] = values[0].decode("utf-8")
            except UnicodeDecodeError:
                return f"the field {name!r} is not UTF-8 text"
        if not found.get("script"):
            return "the form names no script"
        return found

    def _saved_notice(self, book: MarkingBook, assignment: str, script_id: str) -> str:
        mark = next(
            (
                m
                for m in book.marks(assignment).get(script_id, {}).values()
                if m.marker == self.marker
            ),
            None,
        )
        if mark is None:
            return ""
        rubric = self._rubric(book, book.script(script_id))
        if rubric.by_level:
            outcome = rubric.grade_name(mark_grade(rubric, mark))
        else:
            outcome = rubric.band(mark.total).name
        return (
            f'<p class="saved" role="status">Saved your mark for {_e(script_id)}: '
            f"{mark_total(rubric, mark):g} ({_e(outcome)}).</p>"
        )

    def _show(
        self,
        book: MarkingBook,
        assignment: str,
        *,
        script: Script | None = None,
        form: dict[str, str] | None = None,
        notice: str = "",
        problem: str = "",
        status: int = 200,
    ) -> None:
        queue = [s for s, _role in marking_queue(book, assignment, self.marker)]
        if problem:
            notice = (
                f'<p class="problem" role="alert">Not saved: {_e(problem)}. '
                "Your choices and comments are kept below.</p>"
                if script is not None
                else f'<p class="problem" role="alert">Not saved: {_e(problem)}.</p>'
            )
        if script is None and queue:
            script = book.script(queue[0])
        title = f"Marking {assignment}"
        if script is None:
            return self.page(
                title,
                f"<h1>{_e(title)}</h1>{notice}<p>Nothing left to mark: every script allocated "
                "to you has your mark.</p>",
                status=status,
            )
        try:
            rubric = self._rubric(book, script)
        except GradingError as exc:
            return self.page(
                title,
                f'<h1>{_e(title)}</h1><p class="problem" role="alert">{_e(exc)}</p>',
                status=409,
            )
        text = script_text(CourseFolder(self.course_root), script)
        self.page(
            title,
            f"<h1>{_e(title)}</h1>{notice}"
            f"<p>{len(queue)} script{'s' * (len(queue) != 1)} waiting for you.</p>"
            f'<section aria-labelledby="script-heading"><h2 id="script-heading">'
            f"Script {_e(script.script)}</h2>"
            '<div class="script">'
            f"{_e(text) if text.strip() else '<em>(empty)</em>'}</div></section>"
            + self._rubric_form(assignment, script, rubric, form or {}),
            status=status,
        )

    def _rubric_form(
        self, assignment: str, script: Script, rubric: Rubric, form: dict[str, str]
    ) -> str:
        parts = [
            f'<form method="post" action="{_e(self.url(urllib.parse.quote(assignment)))}"'
            ' aria-labelledby="mark-heading">'
            f'<h2 id="mark-heading">Your mark against {_e(rubric.title)}</h2>'
            f'<input type="hidden" name="_xsrf" value="{_e(self.xsrf_token.decode())}">'
            f'<input type="hidden" name="script" value="{_e(script.script)}">'
        ]
        for criterion in rubric.criteria:
            radios = []
            for level in criterion.levels:
                ident = f"level-{criterion.id}-{level.id}"
                checked = " checked" if form.get(f"level-{criterion.id}") == level.id else ""
                radios.append(
                    f'<div class="level"><input type="radio" id="{_e(ident)}"'
                    f' name="level-{_e(criterion.id)}" value="{_e(level.id)}"{checked}>'
                    f'<label for="{_e(ident)}"><strong>{_e(level.name)}</strong>'
                    + ("" if level.points is None else f" ({level.points:g} points)")
                    + f": {_e(level.descriptor)}</label></div>"
                )
            comment_id = f"comment-{criterion.id}"
            parts.append(
                f"<fieldset><legend>{_e(criterion.name)}</legend>{''.join(radios)}"
                f'<label for="{_e(comment_id)}">Comment on {_e(criterion.name)} (optional)'
                f'</label><textarea id="{_e(comment_id)}" name="{_e(comment_id)}">'
                f"{_e(form.get(comment_id, ''))}</textarea></fieldset>"
            )
        if rubric.overall is not None:
            parts.append(self._judgement(rubric, form))
        parts.append(
            '<label for="overall">Overall comment</label>'
            f'<textarea id="overall" name="overall">{_e(form.get("overall", ""))}</textarea>'
            '<p><button type="submit">Save mark and show the next script</button></p></form>'
        )
        return "".join(parts)

    def _judgement(self, rubric: Rubric, form: dict[str, str]) -> str:
        """By level: the overall level (a labelled radio group) and learning, judged only within
        the top level."""
        assert rubric.overall is not None
        top = rubric.overall.levels[-1].name
        groups = [
            (
                "overall",
                f"{rubric.overall.name}: your judgement of the whole, no higher than the level "
                "at least half of the criteria reach",
                [(lv.id, lv.name, lv.descriptor) for lv in rubric.overall.levels],
            ),
            (
                "learning",
                f"Learning (judged only with {top})",
                [(ln.id, ln.name, ln.descriptor) for ln in rubric.overall.learning],
            ),
        ]
        parts = []
        for name, legend, options in groups:
            field = f"level-{name}"  # parsed with the criteria's levels
            radios = []
            for value, label, descriptor in options:
                ident = f"level-{name}-{value}"
                checked = " checked" if form.get(field) == value else ""
                radios.append(
                    f'<div class="level"><input type="radio" id="{_e(ident)}"'
                    f' name="{field}" value="{_e(value)}"{checked}>'
                    f'<label for="{_e(ident)}"><strong>{_e(label)}</strong>: '
                    f"{_e(descriptor)}</label></div>"
                )
            parts.append(f"<fieldset><legend>{_e(legend)}</legend>{''.join(radios)}</fieldset>")
        return "".join(parts)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the marking pages to the course's formgrader server (its root is the course folder)."""
    base = serverapp.web_app.settings["base_url"]
    root = Path(serverapp.root_dir).resolve()
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "marking/?"), HomeHandler, {"course_root": root}),
            (url_path_join(base, "marking/([^/]+)/?"), AssignmentHandler, {"course_root": root}),
        ],
    )
