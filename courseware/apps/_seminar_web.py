"""Seminar mode on the network: learner and presenter pages, their websockets, the CSV export.

The seminar lives in the same tornado server as the module apps, as a handful of handlers over one
:class:`~._seminar.Seminar` (kept in the store, change by change). Learners get no kernel: a small
page, a websocket, and a plain HTML form when JavaScript is off. One kernel per learner would cost about 150 MB each and
seconds to start; a websocket costs a few kilobytes and answers in milliseconds.

Who may do what is decided here by cookies the browser cannot read (``HttpOnly``):

* ``cw_participant``: a learner's anonymous id, given out when the join page is first loaded;
  it is the only key to that learner's own answers. It is signed, not stored: loading the page
  costs the server nothing, and a place in the room is taken only when the page connects or
  answers (see :mod:`._seminar`), so a flood of page loads cannot fill the room;
* ``cw_presenter``: the presenter's token, set when the presenter opens the secret link printed
  by ``courseware seminar`` (the page then drops the token from its address, so a projected
  address bar shows nothing). Presenter pages, the presenter websocket and the export refuse
  anyone without it.

Websockets only accept connections from pages of this server (tornado's same-origin check); the
no-JavaScript form carries a token derived from the learner's id, so another site cannot post
answers for them. Learner text travels as JSON and is put on pages with ``textContent`` or
Jinja's escaping, never as markup.

Every input is checked at the door: a websocket message over :data:`MAX_MESSAGE` is refused by
tornado from its frame header (close 1009) before it is read; a form over :data:`MAX_FORM` gets
413; text that is not valid Unicode, JSON nested too deep or numbers out of range are refused
with the store's own edge check (:func:`courseware.store.check_value`) before anything
is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import segno
import tornado.ioloop
import tornado.web
import tornado.websocket

from ..content import ContentError, ModuleContent, load_module, loadable_modules
from ..feedback._web import CoderBusy, CoderHost, shared_host
from ..store import Store, check_value, open_store
from ._config import AppConfig, AppsError, resolve_config
from ._gallery import entry_for
from ._pages import Site
from ._seminar import Seminar, SeminarError, open_session
from ._serve import build_app, is_loopback

log = logging.getLogger(__name__)
PARTICIPANT_COOKIE = "cw_participant"
PRESENTER_COOKIE = "cw_presenter"
PRESENTER_UPDATE_SECONDS = 0.15
MAX_MESSAGE = 8 * 1024
"""Largest websocket message a seminar page sends (an answer of a few hundred characters)."""
MAX_FORM = 16 * 1024
"""Largest form post to the join page."""
LEARNER_OPEN = ("/join", "/seminar/ws/learner", "/courseware/static/", "/courseware/brand/logo")
"""Paths (below the base URL) everyone may open during a seminar: the join page and its assets,
and the presenter's pages, which check the presenter themselves."""
PRESENTER_PAGES = ("/seminar/present", "/seminar/results.csv", "/seminar/ws/presenter")


@dataclass
class SeminarHub:
    """The seminar and who is connected to it; pushes changes to their pages."""

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
        """:meth:`allows`, before any handler exists (for :func:`~._serve.install_gate`)."""
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


def _hub(handler: tornado.web.RequestHandler) -> SeminarHub:
    hub: SeminarHub = handler.settings["courseware_seminar"]
    return hub


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
    def hub(self) -> SeminarHub:
        return _hub(self)

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
        self.finish(self.hub.site.render(template, seminar=self.hub.seminar, **context))

    def presenter_allowed(self) -> bool:
        return self.hub.is_presenter(self.get_cookie(PRESENTER_COOKIE))

    def refuse_presenter(self) -> None:
        self.page("seminar_refused.html", status=403, title="This page is for the presenter")


class JoinHandler(_Page):
    """The learner's page: the open question as a form (works without JavaScript)."""

    def participant(self) -> str | None:
        """This browser's participant id (a new one if it has none this seminar knows), or
        ``None`` if the room is full and this browser holds no place in it."""
        seminar = self.hub.seminar
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
            title=f"Join: {self.hub.seminar.title}",
            state=self.hub.seminar.learner_state(participant),
            message=message,
            token=self.hub.form_token(participant),
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
        expected = self.hub.form_token(cookie).encode()
        if not cookie or not hmac.compare_digest(token.encode("utf-8", "replace"), expected):
            raise tornado.web.HTTPError(403, "reload the page and try again")
        text = self.get_body_argument("text", None)
        if not self.hub.seminar.knows(cookie):
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
            self.hub.seminar.answer(
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
            if not self.hub.is_presenter(token):
                self.refuse_presenter()
                return
            self.set_cookie(
                PRESENTER_COOKIE,
                token,
                httponly=True,
                samesite="Strict",
                path=self.hub.site.base_url,
            )
            self.redirect(self.request.path, status=303)
            return
        if not self.presenter_allowed():
            self.refuse_presenter()
            return
        join_url = self.hub.join_url(self.request)
        seminar = self.hub.seminar
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
            module_url=self.hub.module_url,
        )


class ExportHandler(_Page):
    """The session's aggregate results as CSV (presenter only)."""

    def get(self) -> None:
        if not self.presenter_allowed():
            self.refuse_presenter()
            return
        stamp = time.strftime("%Y%m%d-%H%M")
        name = f"seminar-{self.hub.seminar.module_id}-{stamp}.csv"
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(self.hub.seminar.export_csv())


class _Socket(tornado.websocket.WebSocketHandler):
    @property
    def hub(self) -> SeminarHub:
        return _hub(self)

    @property
    def max_message_size(self) -> int:
        """Tornado refuses a bigger message from its frame header (close 1009), unread."""
        return MAX_MESSAGE

    def send(self, text: str) -> None:
        try:
            self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            self.on_close()

    def error(self, message: str) -> None:
        self.send(json.dumps({"type": "error", "message": message}))

    def read(self, message: str | bytes) -> dict[str, Any] | None:
        """The message as a checked JSON object (valid Unicode, finite numbers in range, at most
        32 levels deep), or ``None`` after telling the sender what was wrong."""
        if isinstance(message, bytes) or len(message) > MAX_MESSAGE:
            self.error("Message too large.")
            return None
        try:
            data = json.loads(message)
        except (ValueError, RecursionError):
            data = None
        try:
            check_value(data, "message")
        except ValueError as exc:  # names the field and the problem, never echoes the text
            self.error(f"Refused: {exc}.")
            return None
        if not isinstance(data, dict):
            self.error("Not understood.")
            return None
        return data


class LearnerSocket(_Socket):
    """A learner's live connection: receives the open question, sends answers under its own id."""

    participant: str | None = None

    def open(self) -> None:
        participant = self.get_cookie(PARTICIPANT_COOKIE)
        if participant is None or not self.hub.seminar.knows(participant):
            self.error("Please reload the page to join.")
            self.close(4401, "unknown participant")
            return
        try:
            self.hub.seminar.connect(participant)
        except SeminarError as exc:
            self.error(str(exc))
            self.close(4429, "no place")
            return
        self.participant = participant
        self.hub.learners.add(self)
        self.hub.update_presenters_soon()
        self.send_state()

    def send_state(self) -> None:
        self.send(json.dumps(self.hub.seminar.learner_state(self.participant)))

    def on_message(self, message: str | bytes) -> None:
        data = self.read(message)
        if data is None or self.participant is None:
            return
        if data.get("type") != "answer":
            self.error("Not understood.")
            return
        question = data.get("question")
        choice, text = data.get("choice"), data.get("text")
        try:
            if not isinstance(question, str):
                raise SeminarError("That question is not open for answers any more.")
            self.hub.seminar.answer(self.participant, question, choice=choice, text=text)
        except SeminarError as exc:
            self.error(str(exc))
            return
        self.send(json.dumps({"type": "ack", "question": question}))
        self.send_state()

    def on_close(self) -> None:
        if self in self.hub.learners:
            self.hub.learners.discard(self)
            if self.participant is not None:
                self.hub.seminar.disconnect(self.participant)
            self.hub.update_presenters_soon()


class PresenterSocket(_Socket):
    """The presenter's live connection: commands in, the full state (throttled) out."""

    def open(self) -> None:
        if not self.hub.is_presenter(self.get_cookie(PRESENTER_COOKIE)):
            self.close(4403, "presenter only")
            return
        self.hub.presenters.add(self)
        self.send(json.dumps(self.hub.seminar.presenter_state()))

    def on_message(self, message: str | bytes) -> None:
        if self not in self.hub.presenters:
            return
        data = self.read(message)
        if data is None:
            return
        seminar = self.hub.seminar
        action = data.get("type")
        target = data.get("answer") if action in ("approve", "reject", "withdraw") else None
        try:
            if action == "open":
                seminar.open(str(data.get("question", "")))
            elif action == "close":
                seminar.close()
            elif action == "reset":
                seminar.reset()
            elif action in ("approve", "reject"):
                seminar.moderate(str(target), approve=action == "approve")
            elif action == "withdraw":
                seminar.withdraw(str(target))
            else:
                raise SeminarError("Not understood.")
        except SeminarError as exc:
            self.error(str(exc))

    def on_close(self) -> None:
        self.hub.presenters.discard(self)


def seminar_handlers(base_url: str = "/") -> list[Any]:
    """Routes for the seminar, to put in front of Voila's (see :class:`CoursewareVoila`)."""
    prefix = base_url.rstrip("/")
    return [
        (prefix + "/join", JoinHandler),
        (prefix + "/seminar/present(/screen)?", PresenterHandler),
        (prefix + "/seminar/results.csv", ExportHandler),
        (prefix + "/seminar/ws/learner", LearnerSocket),
        (prefix + "/seminar/ws/presenter", PresenterSocket),
    ]


def find_module(module: str | Path, root: Path) -> ModuleContent:
    """A module by folder, or by id under ``root``; raises :class:`AppsError` if there is none."""
    folder = Path(module)
    if (folder / "module.yaml").is_file():
        try:
            return load_module(folder)
        except ContentError as exc:
            raise AppsError(str(exc)) from None
    for found in loadable_modules(root):
        if found.id == str(module):
            return found
    raise AppsError(f"no module {str(module)!r}: give a module id under {root} or a module folder")


@dataclass
class SeminarServer:
    """A built (not yet started) seminar server and the links to hand out."""

    app: Any
    hub: SeminarHub
    presenter_url: str
    join_url: str


def build_seminar(
    module: str | Path,
    *,
    root: str | Path,
    config: AppConfig | str | Path | None = None,
    port: int = 8866,
    ip: str = "127.0.0.1",
    public_url: str | None = None,
    min_group: int | None = None,
    extra_args: Sequence[str] = (),
    store: Store | None = None,
    new_session: bool = False,
) -> SeminarServer:
    """Everything ``courseware seminar`` starts: the module apps (this module preheated), the
    gallery, and the seminar pages over one :class:`Seminar`.

    The seminar is kept in ``store`` (default: :func:`~courseware.store.open_store`): the
    module's latest session there carries on (after a crash or restart nothing is lost) unless
    ``new_session``."""
    root = Path(root).resolve()
    content = find_module(module, root)
    try:
        content.notebook.resolve().relative_to(root)
    except ValueError:
        raise AppsError(f"module {content.id!r} is not under {root}") from None
    resolved = resolve_config(root, config, preheat=[content.id], min_group=min_group)
    seminar = open_session(
        store if store is not None else open_store(),
        content,
        new=new_session,
        min_group=resolved.seminar.min_group,
        max_text=resolved.seminar.max_text,
        max_people=resolved.seminar.max_people,
    )
    site = Site(resolved, "/")
    hub = SeminarHub(seminar, site, entry_for(content, root, "/").url, public_url)
    app = build_app(
        root,
        config=resolved,
        port=port,
        ip=ip,
        extra_args=extra_args,
        extra_handlers=seminar_handlers(site.base_url),
        extra_settings={"courseware_seminar": hub, "courseware_gate": hub},
    )
    local = f"http://{'127.0.0.1' if ip in ('', '0.0.0.0', '::') else ip}:{port}/"
    return SeminarServer(
        app,
        hub,
        f"{local}seminar/present?token={seminar.presenter_token}",
        (public_url.rstrip("/") + "/join") if public_url else f"{local}join",
    )


def run_seminar(module: str | Path, *, open_browser: bool = False, **options: Any) -> None:
    """Run a seminar for ``module`` until interrupted (``options`` as for :func:`build_seminar`);
    print the presenter's and the learners' links first."""
    server = build_seminar(module, **options)
    print(f"Presenter view (keep this link to yourself): {server.presenter_url}", flush=True)
    print(f"Learners join at: {server.join_url}", flush=True)
    seminar = server.hub.seminar
    if seminar.log is not None:
        print(
            f"Session {seminar.log.session} (round {seminar.round}): every answer is saved as it "
            "comes in; run again after a restart to carry on, or with --new-session to start afresh.",
            flush=True,
        )
    if open_browser:
        import webbrowser

        webbrowser.open(server.presenter_url)
    server.app.start()
