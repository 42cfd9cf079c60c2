"""The seminar's room: the :class:`~._seminar.Seminar`, who is connected to it, and who may do what.

It pushes every change to the pages connected (learners' on each new question, the presenter's at
most every 150 ms), sends new written answers to the reply coder, and is the gate in front of every
route during a seminar. Who may do what is decided by cookies the browser cannot read
(``HttpOnly``):

* ``cw_participant``: a learner's anonymous id, given out when the join page is first loaded;
  it is the only key to that learner's own answers. It is signed, not stored: loading the page
  costs the server nothing, and a place in the room is taken only when the page connects or
  answers (see :mod:`._seminar`), so a flood of page loads cannot fill the room;
* ``cw_presenter``: the presenter's token, set when the presenter opens the secret link printed
  by ``courseware seminar`` (the page then drops the token from its address, so a projected
  address bar shows nothing). Presenter pages, the presenter websocket and the export refuse
  anyone without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import tornado.ioloop
import tornado.web

from ..feedback import CoderBusy, CoderHost, shared_host
from ._pages import Site
from ._seminar import Seminar

if TYPE_CHECKING:
    from ._seminar_sockets import LearnerSocket, PresenterSocket

log = logging.getLogger(__name__)
PARTICIPANT_COOKIE = "cw_participant"
PRESENTER_COOKIE = "cw_presenter"
PRESENTER_UPDATE_SECONDS = 0.15
LEARNER_OPEN = ("/join", "/seminar/ws/learner", "/courseware/static/", "/courseware/brand/logo")
"""Paths (below the base URL) everyone may open during a seminar: the join page and its assets,
and the presenter's pages, which check the presenter themselves."""
PRESENTER_PAGES = ("/seminar/present", "/seminar/results.csv", "/seminar/ws/presenter")


@dataclass
class SeminarRoom:
    """The seminar and who is connected to it: pushes changes to their pages, and is the gate
    that lets only the presenter past the join page."""

    seminar: Seminar
    site: Site
    module_url: str
    public_url: str | None = None
    learners: set[LearnerSocket] = field(default_factory=set)
    presenters: set[PresenterSocket] = field(default_factory=set)
    coder: CoderHost | None = None
    """The reply coder that groups written answers by code (default: this process's one copy)."""
    _pending: bool = False

    def __post_init__(self) -> None:
        self.seminar.subscribe(self._changed)

    def form_token(self, participant: str) -> str:
        """The no-JavaScript form's token: keyed by the learner's own (HttpOnly) id, which another
        site cannot read, and valid across a restart of the server."""
        return hmac.new(participant.encode(), b"seminar-form", hashlib.sha256).hexdigest()

    def is_presenter(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(
            str(token).encode(), self.seminar.presenter_token.encode()
        )

    def _changed(self, what: str) -> None:
        if what == "answers":
            self.code_new_answers()
        if what == "question":
            for socket in list(self.learners):
                socket.send_state()
        self.update_presenters_soon()

    def code_new_answers(self) -> None:
        """Send each new written answer to the reply coder (its worker thread, never this loop)."""
        for answer_id, statement, text in self.seminar.to_code():
            tornado.ioloop.IOLoop.current().add_callback(self._code, answer_id, statement, text)

    async def _code(self, answer_id: str, statement: str, text: str) -> None:
        coder = self.coder if self.coder is not None else shared_host()
        codes: list[str] | None = None
        for _ in range(40):  # a burst of answers waits for the worker rather than going uncoded
            try:
                coding = await coder.code(statement, text)
            except CoderBusy:
                await asyncio.sleep(0.5)
                continue
            except Exception as exc:  # the model is missing or failed: the answer stays uncoded
                log.info("a seminar answer was not coded: %s", exc)
                break
            codes = [str(c["code"]) for c in coding.get("codes", [])]
            break
        self.seminar.set_codes(answer_id, codes)

    def update_presenters_soon(self) -> None:
        """Coalesce a burst of answers into one presenter update every 150 ms."""
        if self._pending:
            return
        self._pending = True
        tornado.ioloop.IOLoop.current().call_later(PRESENTER_UPDATE_SECONDS, self._push_presenters)

    def _push_presenters(self) -> None:
        self._pending = False
        if not self.presenters:
            return
        state = json.dumps(self.seminar.presenter_state())
        for socket in list(self.presenters):
            socket.send(state)

    def allows(self, handler: tornado.web.RequestHandler) -> bool:
        """The gate on everything but the join page: during a seminar only the presenter opens
        modules, the gallery, Voila's and the kernels' APIs (learners answer through the join
        page, and start no kernels)."""
        return self.is_presenter(handler.get_cookie(PRESENTER_COOKIE))

    def allows_request(self, request: Any) -> bool:
        """:meth:`allows`, before any handler exists (for :func:`~._access.install_gate`)."""
        morsel = request.cookies.get(PRESENTER_COOKIE)
        return self.is_presenter(morsel.value if morsel is not None else None)

    def open_to_all(self, path: str) -> bool:
        """Whether ``path`` is the join page, its assets, or a presenter page (which checks)."""
        base = self.site.base_url.rstrip("/")
        if not path.startswith(base + "/"):
            return False
        rest = path[len(base) :]
        return any(
            rest == p or (p.endswith("/") and rest.startswith(p)) for p in LEARNER_OPEN
        ) or any(rest == p or rest.startswith(p + "/") for p in PRESENTER_PAGES)

    def refuse(self, handler: tornado.web.RequestHandler) -> None:
        """A page a browser opened goes to the join page; anything else is refused (403)."""
        request = handler.request
        if (
            request.method in ("GET", "HEAD")
            and "upgrade" not in request.headers.get("Connection", "").lower()
        ):
            handler.redirect(f"{self.site.base_url}join", status=303)
            return
        handler.set_status(403)
        handler.set_header("Content-Type", "text/plain; charset=utf-8")
        handler.finish("During the seminar this is for the presenter only.\n")

    def join_url(self, request: Any) -> str:
        """The address learners open: ``public_url`` if given, else as the presenter reached us."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/join"
        return f"{request.protocol}://{request.host}{self.site.base_url}join"


def room_of(handler: tornado.web.RequestHandler) -> SeminarRoom:
    """The seminar room this handler's app serves."""
    room: SeminarRoom = handler.settings["courseware_seminar"]
    return room
