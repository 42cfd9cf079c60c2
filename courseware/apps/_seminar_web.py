"""Seminar mode on the network: learner and presenter pages, their websockets, the CSV export.

The seminar lives in the same tornado server as the module apps, as a handful of handlers over one
in-memory :class:`~._seminar.Seminar`. Learners get no kernel: a small page, a websocket, and a
plain HTML form when JavaScript is off. One kernel per learner would cost about 150 MB each and
seconds to start; a websocket costs a few kilobytes and answers in milliseconds.

Who may do what is decided here by cookies the browser cannot read (``HttpOnly``):

* ``cw_participant``: a learner's anonymous id, given out when the join page is first loaded;
  it is the only key to that learner's own answers;
* ``cw_presenter``: the presenter's token, set when the presenter opens the secret link printed
  by ``courseware seminar`` (the page then drops the token from its address, so a projected
  address bar shows nothing). Presenter pages, the presenter websocket and the export refuse
  anyone without it.

Websockets only accept connections from pages of this server (tornado's same-origin check); the
no-JavaScript form carries a token derived from the learner's id, so another site cannot post
answers for them. Learner text travels as JSON and is put on pages with ``textContent`` or
Jinja's escaping, never as markup.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
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

from ..content import ContentError, ModuleContent, find_modules, load_module
from ..feedback._web import CoderBusy, CoderHost, shared_host
from ._config import AppConfig, AppsError, resolve_config
from ._gallery import entry_for
from ._pages import Site
from ._seminar import Seminar, SeminarError
from ._serve import build_app, is_loopback

log = logging.getLogger(__name__)
PARTICIPANT_COOKIE = "cw_participant"
PRESENTER_COOKIE = "cw_presenter"
PRESENTER_UPDATE_SECONDS = 0.15
MAX_MESSAGE = 8 * 1024


@dataclass
class SeminarHub:
    """The seminar and who is connected to it; pushes changes to their pages."""

    seminar: Seminar
    site: Site
    module_url: str
    public_url: str | None = None
    learners: set[LearnerSocket] = field(default_factory=set)
    presenters: set[PresenterSocket] = field(default_factory=set)
    form_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    coder: CoderHost | None = None
    """The reply coder that groups written answers by code (default: this process's one copy)."""
    _pending: bool = False

    def __post_init__(self) -> None:
        self.seminar.subscribe(self._changed)

    def form_token(self, participant: str) -> str:
        return hmac.new(self.form_secret, participant.encode(), hashlib.sha256).hexdigest()

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
        """The gate on the gallery and module pages: during a seminar only the presenter opens
        modules (learners answer through the join page, and start no kernels)."""
        return self.is_presenter(handler.get_cookie(PRESENTER_COOKIE))

    def refuse(self, handler: tornado.web.RequestHandler) -> None:
        handler.redirect(f"{self.site.base_url}join", status=303)

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

    def participant(self) -> str:
        participant = self.get_cookie(PARTICIPANT_COOKIE)
        if not self.hub.seminar.knows(participant):
            participant = self.hub.seminar.join()
            self.set_cookie(
                PARTICIPANT_COOKIE, participant, httponly=True, samesite="Lax", path="/"
            )
        assert participant is not None
        return participant

    def get(self) -> None:
        try:
            participant = self.participant()
        except SeminarError as exc:
            self.page("seminar_join.html", status=503, state=None, message=str(exc), token="")
            return
        state = self.hub.seminar.learner_state(participant)
        sent = self.get_argument("sent", "")
        message = "Thank you: your answer has been sent." if sent == "1" else ""
        self.page(
            "seminar_join.html",
            title=f"Join: {self.hub.seminar.title}",
            state=state,
            message=message,
            token=self.hub.form_token(participant),
        )

    def post(self) -> None:
        participant = self.get_cookie(PARTICIPANT_COOKIE)
        token = self.get_body_argument("token", "")
        if not self.hub.seminar.knows(participant) or not hmac.compare_digest(
            token, self.hub.form_token(str(participant))
        ):
            raise tornado.web.HTTPError(403, "reload the page and try again")
        assert participant is not None
        choice_text = self.get_body_argument("choice", None)
        try:
            choice = int(choice_text) if choice_text not in (None, "") else None
        except ValueError:
            choice = -1
        try:
            self.hub.seminar.answer(
                participant,
                self.get_body_argument("question", ""),
                choice=choice,
                text=self.get_body_argument("text", None),
            )
        except SeminarError as exc:
            state = self.hub.seminar.learner_state(participant)
            self.page(
                "seminar_join.html",
                status=400,
                title=f"Join: {self.hub.seminar.title}",
                state=state,
                message=str(exc),
                token=self.hub.form_token(participant),
            )
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

    def send(self, text: str) -> None:
        try:
            self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            self.on_close()

    def read(self, message: str | bytes) -> dict[str, Any] | None:
        if isinstance(message, bytes) or len(message) > MAX_MESSAGE:
            self.send(json.dumps({"type": "error", "message": "Message too large."}))
            return None
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self.send(json.dumps({"type": "error", "message": "Not understood."}))
            return None
        return data


class LearnerSocket(_Socket):
    """A learner's live connection: receives the open question, sends answers under its own id."""

    participant: str | None = None

    def open(self) -> None:
        participant = self.get_cookie(PARTICIPANT_COOKIE)
        if not self.hub.seminar.knows(participant):
            self.send(json.dumps({"type": "error", "message": "Please reload the page to join."}))
            self.close(4401, "unknown participant")
            return
        self.participant = participant
        self.hub.learners.add(self)
        self.hub.seminar.connected += 1
        self.hub.update_presenters_soon()
        self.send_state()

    def send_state(self) -> None:
        self.send(json.dumps(self.hub.seminar.learner_state(self.participant)))

    def on_message(self, message: str | bytes) -> None:
        data = self.read(message)
        if data is None or self.participant is None:
            return
        if data.get("type") != "answer":
            self.send(json.dumps({"type": "error", "message": "Not understood."}))
            return
        try:
            self.hub.seminar.answer(
                self.participant,
                str(data.get("question", "")),
                choice=data.get("choice"),
                text=data.get("text"),
            )
        except SeminarError as exc:
            self.send(json.dumps({"type": "error", "message": str(exc)}))
            return
        self.send(json.dumps({"type": "ack", "question": data.get("question")}))
        self.send_state()

    def on_close(self) -> None:
        if self in self.hub.learners:
            self.hub.learners.discard(self)
            self.hub.seminar.connected -= 1
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
        try:
            if action == "open":
                seminar.open(str(data.get("question", "")))
            elif action == "close":
                seminar.close()
            elif action == "reset":
                seminar.reset()
            elif action in ("approve", "reject"):
                seminar.moderate(str(data.get("answer", "")), approve=action == "approve")
            else:
                raise SeminarError("Not understood.")
        except SeminarError as exc:
            self.send(json.dumps({"type": "error", "message": str(exc)}))

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
    for directory in find_modules(root):
        try:
            found = load_module(directory)
        except ContentError:
            continue
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
) -> SeminarServer:
    """Everything ``courseware seminar`` starts: the module apps (this module preheated), the
    gallery, and the seminar pages over one :class:`Seminar`."""
    root = Path(root).resolve()
    content = find_module(module, root)
    try:
        content.notebook.resolve().relative_to(root)
    except ValueError:
        raise AppsError(f"module {content.id!r} is not under {root}") from None
    resolved = resolve_config(root, config, preheat=[content.id], min_group=min_group)
    seminar = Seminar(
        content, min_group=resolved.seminar.min_group, max_text=resolved.seminar.max_text
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
    if open_browser:
        import webbrowser

        webbrowser.open(server.presenter_url)
    server.app.start()
