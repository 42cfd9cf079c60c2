"""The seminar's pages: the learner's join page (a plain form: works without JavaScript), the
presenter's view with the join link and QR code, and the CSV export (presenter only).

Learner text is put on pages with Jinja's escaping, never as markup; the join form carries a token
derived from the learner's id, so another site cannot post answers for them.
"""

from __future__ import annotations

import hmac
import time
from typing import Any
from urllib.parse import urlsplit

import segno
import tornado.web

from ._access import is_loopback
from ._seminar import SeminarError
from ._seminar_room import PARTICIPANT_COOKIE, PRESENTER_COOKIE, SeminarRoom, room_of

MAX_FORM = 16 * 1024
"""Largest form post to the join page."""


def is_loopback_url(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def qr_svg(url: str) -> str:
    """An inline SVG QR code for ``url`` (dark on white, no size so CSS scales it)."""
    return str(
        segno.make(url, error="m").svg_inline(
            scale=4, dark="#111111", light="#ffffff", omitsize=True, border=4
        )
    )


class _Page(tornado.web.RequestHandler):
    @property
    def room(self) -> SeminarRoom:
        return room_of(self)

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )

    def page(self, template: str, status: int = 200, **context: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(self.room.site.render(template, seminar=self.room.seminar, **context))

    def presenter_allowed(self) -> bool:
        return self.room.is_presenter(self.get_cookie(PRESENTER_COOKIE))

    def refuse_presenter(self) -> None:
        self.page("seminar_refused.html", status=403, title="This page is for the presenter")


class JoinHandler(_Page):
    """The learner's page: the open question as a form (works without JavaScript)."""

    def participant(self) -> str | None:
        """This browser's participant id (a new one if it has none this seminar knows), or
        ``None`` if the room is full and this browser holds no place in it."""
        seminar = self.room.seminar
        participant = self.get_cookie(PARTICIPANT_COOKIE)
        if not seminar.knows(participant):
            participant = None
        if not seminar.room_for(participant):
            return None
        if participant is None:
            participant = seminar.new_participant()
            self.set_cookie(
                PARTICIPANT_COOKIE, participant, httponly=True, samesite="Lax", path="/"
            )
        return participant

    def full(self) -> None:
        self.set_header("Retry-After", "30")
        self.page("seminar_full.html", status=503, title="This seminar is full")

    def join_page(
        self, participant: str, status: int = 200, message: str = "", **draft: Any
    ) -> None:
        self.page(
            "seminar_join.html",
            status=status,
            title=f"Join: {self.room.seminar.title}",
            state=self.room.seminar.learner_state(participant),
            message=message,
            token=self.room.form_token(participant),
            draft=draft.get("draft", ""),
        )

    def get(self) -> None:
        participant = self.participant()
        if participant is None:
            self.full()
            return
        sent = self.get_argument("sent", "")
        message = "Thank you: your answer has been sent." if sent == "1" else ""
        self.join_page(participant, message=message)

    def post(self) -> None:
        if len(self.request.body) > MAX_FORM:
            raise tornado.web.HTTPError(413, "an answer form is at most %d bytes", MAX_FORM)
        cookie = self.get_cookie(PARTICIPANT_COOKIE) or ""
        token = self.get_body_argument("token", "")
        expected = self.room.form_token(cookie).encode()
        if not cookie or not hmac.compare_digest(token.encode("utf-8", "replace"), expected):
            raise tornado.web.HTTPError(403, "reload the page and try again")
        text = self.get_body_argument("text", None)
        if not self.room.seminar.knows(cookie):
            # This browser's id is from before a restart and had answered nothing: give it a
            # new one and keep what was typed, so nothing is lost.
            participant = self.participant()
            if participant is None:
                self.full()
                return
            self.join_page(
                participant,
                status=409,
                message="The seminar restarted: please send your answer again.",
                draft=text or "",
            )
            return
        choice_text = self.get_body_argument("choice", None)
        try:
            choice = int(choice_text) if choice_text not in (None, "") else None
        except ValueError:
            choice = -1
        try:
            self.room.seminar.answer(
                cookie, self.get_body_argument("question", ""), choice=choice, text=text
            )
        except SeminarError as exc:
            self.join_page(cookie, status=400, message=str(exc), draft=text or "")
            return
        self.redirect(self.request.path + "?sent=1", status=303)


class PresenterHandler(_Page):
    """The presenter's view; ``?token=`` from the printed link sets the cookie, then is dropped."""

    def get(self, screen: str | None = None) -> None:
        token = self.get_argument("token", None)
        if token is not None:
            if not self.room.is_presenter(token):
                self.refuse_presenter()
                return
            self.set_cookie(
                PRESENTER_COOKIE,
                token,
                httponly=True,
                samesite="Strict",
                path=self.room.site.base_url,
            )
            self.redirect(self.request.path, status=303)
            return
        if not self.presenter_allowed():
            self.refuse_presenter()
            return
        join_url = self.room.join_url(self.request)
        seminar = self.room.seminar
        groups: dict[str, list[Any]] = {}
        for question in seminar.questions.values():
            groups.setdefault(question.source, []).append(question)
        self.page(
            "seminar_present.html",
            title=f"Seminar: {seminar.title}",
            screen=bool(screen),
            join_url=join_url,
            join_local=is_loopback_url(join_url),
            qr=qr_svg(join_url),
            groups=groups,
            module_url=self.room.module_url,
        )


class ExportHandler(_Page):
    """The session's aggregate results as CSV (presenter only)."""

    def get(self) -> None:
        if not self.presenter_allowed():
            self.refuse_presenter()
            return
        stamp = time.strftime("%Y%m%d-%H%M")
        name = f"seminar-{self.room.seminar.module_id}-{stamp}.csv"
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(self.room.seminar.export_csv())
