"""The marker's view in the browser: a Jupyter server extension in a course's formgrader service.

Served at ``<base>/marking/`` (on the hub ``/services/<course>/marking/``, the service's landing
page, with a link to nbgrader's formgrader). The same rules as the terminal and notebook views:
the marker is whoever JupyterHub says is making the request (nbgrader's formgrader is
anonymous); they see their own queue, one script at a time by its anonymous id, and the rubric's
criteria as labelled radio groups in fieldsets; never a student's name or another marker's mark.
Scripts they have marked are listed by id and open again (``<base>/marking/<assignment>/<id>``)
with their mark in the form, to change it, until the script's marks are settled (agreed or in
the gradebook): then the mark is shown read-only with the reason. The script and every comment
are escaped, so markup in them is shown as text. A mark is saved through :func:`record_mark`
(a change keeps the earlier mark and records the re-mark), so moderation and the write-back to
the gradebook work as before. Posts need the XSRF token; a malformed or oversized one, a script
that is not the marker's and a change to a settled mark get a 4xx page saying what is wrong.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ._course import CourseFolder, GradingError
from ._marking import MarkingBook
from ._marking_pages import (
    MAX_COMMENT,
    STYLE,
    esc,
    form_of,
    marked_list,
    read_only_mark,
    rubric_form,
)
from ._marking_records import Mark, Script
from ._marking_rules import mark_grade, mark_total
from ._marking_state import marked_by, own_mark, read_only_reason, settled
from ._moderation import marking_queue, marking_rubric, record_mark, remark_roles, script_text
from ._rubric import Rubric

MAX_BODY = 16 * 1024 * 1024  # a form with a 1 MB comment, percent-encoded, fits well inside


class MarkingHandler(JupyterHandler):
    """Shared parts: the course, the marker, the page frame and error pages."""

    course_root: Path

    def initialize(self, course_root: Path) -> None:
        self.course_root = course_root

    @property
    def marker(self) -> str:
        return str(self.current_user.username)

    def url(self, *parts: str) -> str:
        quoted = [urllib.parse.quote(p, safe="") for p in parts]
        return str(url_path_join(self.base_url, "marking", *quoted))

    def page(self, title: str, body: str, *, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        formgrader = url_path_join(self.base_url, "formgrader")
        who = f" · signed in as {esc(self.marker)}" if self.current_user else ""
        self.finish(
            "<!doctype html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{STYLE}</style></head><body>"
            '<header><nav aria-label="Grading">'
            f'<a href="{esc(self.url())}">Rubric marking</a> · '
            f'<a href="{esc(formgrader)}">nbgrader formgrader (assignments, submissions, '
            f"manual grading)</a>{who}</nav></header>"
            f"<main>{body}</main></body></html>"
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """tornado's and jupyter_server's refusals (a missing XSRF token, say) as our page, with
        the reason in words."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        if "xsrf" in message.lower():
            message = (
                "the form's security token (XSRF) is missing or does not match your session, so "
                "it may not have come from the marking page; open the page again and mark there"
            )
        elif status_code >= 500:
            message = "something went wrong on the server; nothing was saved"
        self.page(
            self._reason,
            f'<h1>{esc(self._reason)}</h1><p class="problem" role="alert">Not done: '
            f"{esc(message)}.</p>",
            status=status_code,
        )

    def book(self) -> MarkingBook | None:
        """The course's marking book, or None before any scripts were prepared (not created)."""
        path = CourseFolder(self.course_root).marking_db
        return MarkingBook(path) if path.is_file() else None

    def none(self, assignment: str) -> None:
        self.page(
            "Not found",
            f"<h1>Rubric marking</h1><p>No scripts for {esc(assignment)}.</p>",
            status=404,
        )


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
                    marked = len(marked_by(book, assignment, self.marker))
                    rows.append(
                        f'<li><a href="{esc(self.url(assignment))}">{esc(assignment)}</a>: '
                        f"{waiting} script{'s' * (waiting != 1)} waiting for you, "
                        f"{marked} marked by you</li>"
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
    """The next script of the marker's queue with the rubric form, and the scripts they marked;
    a post records a mark (a first one or a change)."""

    @web.authenticated
    def get(self, assignment: str) -> None:
        book = self.book()
        if book is None:
            return self.none(assignment)
        with book:
            if not book.scripts(assignment):
                return self.none(assignment)
            saved = self.get_query_argument("saved", "")
            notice = self._saved_notice(book, assignment, saved) if saved else ""
            self.show(book, assignment, notice=notice)

    @web.authenticated
    def post(self, assignment: str) -> None:
        if len(self.request.body) > MAX_BODY:
            return self.page(
                "Not saved",
                '<h1>Not saved</h1><p class="problem" role="alert">Not saved: the form sent was '
                f"{len(self.request.body) / 2**20:.1f} MB, and a mark's form is at most "
                f"{MAX_BODY // 2**20} MB. Nothing was recorded.</p>",
                status=413,
            )
        book = self.book()
        if book is None:
            return self.none(assignment)
        with book:
            form = self._form()
            if isinstance(form, str):
                return self.show(book, assignment, problem=form, status=400)
            script = self.own_script(book, assignment, form.get("script", ""), unknown=400)
            if not isinstance(script, Script):
                return self.show(book, assignment, problem=script[0], status=script[1])
            try:
                rubric = marking_rubric(self.course_root, book, assignment)
            except GradingError as exc:
                return self.show(book, assignment, problem=str(exc), status=409)
            problem = _form_problem(rubric, form)
            if problem:
                return self.show(
                    book, assignment, script=script, form=form, problem=problem, status=400
                )
            why = settled(CourseFolder(self.course_root), book, assignment, rubric).get(
                script.script
            )
            if why:
                reason = read_only_reason(why, assignment, script.script, self.marker)
                problem = reason[0].lower() + reason[1:]
                return self.show(book, assignment, script=script, problem=problem, status=409)
            levels = {k[6:]: v for k, v in form.items() if k.startswith("level-")}
            comments = {k[8:]: v for k, v in form.items() if k.startswith("comment-")}
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
            except GradingError as exc:  # a comment for a criterion the rubric does not have
                return self.show(
                    book, assignment, script=script, form=form, problem=str(exc), status=400
                )
        query = urllib.parse.urlencode({"saved": script.script})
        self.redirect(f"{self.url(assignment)}?{query}", status=303)

    # -- parts -----------------------------------------------------------------------------------
    def own_script(
        self, book: MarkingBook, assignment: str, script_id: str, *, unknown: int
    ) -> Script | tuple[str, int]:
        """The script, if it is in ``assignment`` and allocated to the marker; else the reason
        and the status: ``unknown`` for no such script, 403 for someone else's."""
        try:
            script = book.script(script_id)
        except KeyError:
            return f"there is no script {script_id!r} in {assignment}", unknown
        if script.assignment != assignment:
            return f"there is no script {script_id!r} in {assignment}", unknown
        if not remark_roles(book, script.script, self.marker):
            return f"{script.script} is not allocated to {self.marker!r}", 403
        return script

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
        mark = own_mark(book, assignment, script_id, self.marker) if script_id else None
        if mark is None:
            return ""
        rubric = marking_rubric(self.course_root, book, assignment)
        changed = [
            r
            for r in book.remarks(assignment)
            if (r.script, r.marker, r.time) == (script_id, self.marker, mark.time)
        ]
        kept = " Your earlier mark is kept in the marking book." if changed else ""
        return (
            f'<p class="saved" role="status">Saved your {"changed " * bool(changed)}mark for '
            f"{esc(script_id)}: {esc(_outcome(rubric, mark))}.{kept}</p>"
        )

    def show(
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
        """A script with the rubric form (or the marker's settled mark, read-only), or the queue's
        next script; the scripts the marker has marked below."""
        queue = [s for s, _role in marking_queue(book, assignment, self.marker)]
        if script is None and queue:
            script = book.script(queue[0])
        title = f"Marking {assignment}"
        try:
            rubric = marking_rubric(self.course_root, book, assignment)
        except GradingError as exc:
            problem = f'<p class="problem" role="alert">{esc(exc)}</p>'
            return self.page(title, f"<h1>{esc(title)}</h1>{problem}", status=409)
        done = settled(CourseFolder(self.course_root), book, assignment, rubric)
        mine = None if script is None else own_mark(book, assignment, script.script, self.marker)
        read_only = mine is not None and script is not None and script.script in done
        if problem:
            kept = form is not None and not read_only
            notice = (
                '<p class="problem" role="alert">'
                + ("Not saved: " if self.request.method == "POST" else "")
                + f"{esc(problem)}."
                + (" Your choices and comments are kept below." if kept else "")
                + "</p>"
            )
        head = f"<h1>{esc(title)}</h1>{notice}"
        marked = [
            (s, self.url(assignment, s), " (agreed: read-only)" if s in done else "")
            for s in marked_by(book, assignment, self.marker)
        ]
        waiting = f"<p>{len(queue)} script{'s' * (len(queue) != 1)} waiting for you.</p>"
        if script is None:
            return self.page(
                title,
                head
                + "<p>Nothing left to mark: every script allocated to you has your mark.</p>"
                + marked_list(marked),
                status=status,
            )
        text = script_text(CourseFolder(self.course_root), script)
        body = (
            head + waiting + '<section aria-labelledby="script-heading"><h2 id="script-heading">'
            f"Script {esc(script.script)}</h2>"
            '<div class="script">'
            f"{esc(text) if text.strip() else '<em>(empty)</em>'}</div></section>"
        )
        if mine is not None and read_only:
            reason = read_only_reason(done[script.script], assignment, script.script, self.marker)
            body += read_only_mark(rubric, mine, reason)
        else:
            if mine is not None:
                body += (
                    f'<p role="note">You have marked this script ({esc(_outcome(rubric, mine))}).'
                    " Your mark is in the form: change any choice or comment and save; your "
                    "earlier mark is kept in the marking book.</p>"
                )
            button = (
                "Save changed mark" if mine is not None else "Save mark and show the next script"
            )
            body += rubric_form(
                self.url(assignment),
                self.xsrf_token.decode(),
                script.script,
                rubric,
                form if form is not None else form_of(mine) if mine is not None else {},
                button,
            )
        self.page(title, body + marked_list(marked), status=status)


class ScriptHandler(AssignmentHandler):
    """One script of the marker's by its id: their mark in the form to change it, or read-only
    once its marks are settled. Another marker's script, or one not in the assignment, is not
    shown."""

    @web.authenticated
    def get(self, assignment: str, script_id: str) -> None:
        book = self.book()
        if book is None:
            return self.none(assignment)
        with book:
            found = self.own_script(book, assignment, script_id, unknown=404)
            if isinstance(found, Script):
                return self.show(book, assignment, script=found)
            self.show(book, assignment, problem=found[0], status=found[1])

    def post(self, assignment: str, script_id: str = "") -> None:
        raise web.HTTPError(405, "marks are sent to the assignment's marking page")


def _outcome(rubric: Rubric, mark: Mark) -> str:
    """A mark's points and its grade (by level) or band (by points)."""
    if rubric.by_level:
        return f"{mark_total(rubric, mark):g}, {rubric.grade_name(mark_grade(rubric, mark))}"
    return f"{mark.total:g}, {rubric.band(mark.total).name}"


def _form_problem(rubric: Rubric, form: dict[str, str]) -> str:
    """What is missing or too long in a posted mark, in words ("" if nothing)."""
    names = {f"comment-{c.id}": f"the comment on {c.name}" for c in rubric.criteria}
    names["overall"] = "the overall comment"
    for field, value in form.items():
        if (field in names or field.startswith("comment-")) and len(value) > MAX_COMMENT:
            return (
                f"{names.get(field, field)} is {len(value):,} characters long, and a comment can "
                f"have at most {MAX_COMMENT:,}; shorten it and save again"
            )
    levels = {k[6:]: v for k, v in form.items() if k.startswith("level-")}
    missing = [c.name for c in rubric.criteria if not levels.get(c.id)]
    if missing:
        return f"choose a level for {', '.join(missing)}"
    try:
        rubric.total(levels)  # as record_mark checks it: a level the rubric has, a cap kept
    except ValueError as exc:
        return str(exc)
    return ""


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the marking pages to the course's formgrader server (its root is the course folder)."""
    base = serverapp.web_app.settings["base_url"]
    root = Path(serverapp.root_dir).resolve()
    pages = [
        ("marking/?", HomeHandler),
        ("marking/([^/]+)/?", AssignmentHandler),
        ("marking/([^/]+)/([^/]+)/?", ScriptHandler),
    ]
    serverapp.web_app.add_handlers(
        ".*$", [(url_path_join(base, path), cls, {"course_root": root}) for path, cls in pages]
    )
