"""The LTI tool's web endpoints (Tornado), over pylti1p3.

``make_app`` serves, below the tool's URL:

* ``login`` — OIDC third-party-initiated login: pylti1p3 checks the issuer and sends the browser
  back to the VLE with a fresh state (cookie) and nonce;
* ``launch`` — the id_token the VLE posts back. pylti1p3 checks the state, the signature against
  the VLE's JWKS, the issuer, audience (client id), deployment and expiry; the nonce must be one
  this tool issued and is used once (pylti1p3 alone would accept it again). A resource launch
  records the VLE course and its service endpoints in the ledger and sends the browser on to the
  module's nbgitpuller link; a deep-linking launch from a tutor shows the picker;
* ``deep-link`` — the tutor's pick: an auto-submitting form posts the tool-signed
  ``LtiDeepLinkingResponse`` back to the VLE;
* ``jwks`` — the tool's public key, for the VLE to check the tool's signatures.

Every refusal is a 4xx with the reason; pylti1p3's blocking HTTP calls (the VLE's JWKS) run in a
worker thread so one slow VLE never stalls the others.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tornado import web

from ._config import LtiError, ToolConfig
from ._ledger import Context, Ledger

__all__ = ["LaunchRefused", "deep_link_targets", "make_app", "record_launch"]

AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CUSTOM_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/custom"
DEPLOYMENT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
TARGET = "courseware_target"
"""The custom parameter a deep link carries: the module or course id it opens."""


class LaunchRefused(LtiError):
    """A launch or login the tool will not accept (the message says why)."""


class _Store:
    """pylti1p3's launch-data storage, in the tool's memory, with expiry; nonces are one-use.

    At most ``limit`` entries: a flood of logins that never launch drops the oldest first, so it
    costs the flooder their own pending launches, never the tool's memory."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, *, pop: bool = False) -> Any:
        with self._lock:
            now = time.monotonic()
            for k in [k for k, (exp, _) in self._data.items() if exp < now]:
                del self._data[k]
            found = self._data.pop(key, None) if pop else self._data.get(key)
            return None if found is None else found[1]

    def set(self, key: str, value: Any, exp: int | None) -> None:
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = (time.monotonic() + (exp or 3600), value)
            while len(self._data) > self.limit:
                del self._data[next(iter(self._data))]


def _pylti(store: _Store, handler: web.RequestHandler) -> tuple[Any, Any, Any]:
    """pylti1p3's request, cookie and session services for one Tornado request."""
    from pylti1p3.cookie import CookieService
    from pylti1p3.launch_data_storage.base import LaunchDataStorage
    from pylti1p3.request import Request
    from pylti1p3.session import SessionService

    class _Request(Request):  # type: ignore[misc]
        @property
        def session(self) -> Any:
            return None

        def is_secure(self) -> bool:
            return bool(handler.request.protocol == "https")

        def get_param(self, key: str) -> str:
            return str(handler.get_argument(key, "") or "")

    class _Cookies(CookieService):  # type: ignore[misc]
        def get_cookie(self, name: str) -> str | None:
            return handler.get_cookie(f"{self._cookie_prefix}-{name}")

        def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
            secure = handler.request.protocol == "https"
            handler.set_cookie(
                f"{self._cookie_prefix}-{name}",
                str(value),
                expires_days=(exp or 3600) / 86400,
                httponly=True,
                secure=secure,
                # the VLE posts the launch from its own site: the cookie must travel cross-site
                samesite="None" if secure else "Lax",
            )

    class _Storage(LaunchDataStorage):  # type: ignore[misc]
        def can_set_keys_expiration(self) -> bool:
            return True

        def get_value(self, key: str) -> Any:
            return store.get(self._prepare_key(key))

        def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
            store.set(self._prepare_key(key), value, exp)

        def check_value(self, key: str) -> bool:
            return store.get(self._prepare_key(key)) is not None

    class _Session(SessionService):  # type: ignore[misc]
        def check_nonce(self, nonce: str) -> bool:
            # one use: a replayed id_token (same nonce) is refused
            key = self.data_storage._prepare_key(self._get_key("nonce", nonce))
            return store.get(key, pop=True) is not None

    request = _Request()
    session = _Session(request)
    session.set_data_storage(_Storage())
    return request, _Cookies(), session


def record_launch(ledger: Ledger, claims: dict[str, Any]) -> Context:
    """Keep the VLE course this launch came from, with the service endpoints it offered."""
    from ..hub import lti_course

    ags = claims.get(AGS_CLAIM) or {}
    nrps = claims.get(NRPS_CLAIM) or {}
    context_claim = claims.get("https://purl.imsglobal.org/spec/lti/claim/context") or {}
    aud = claims.get("aud")
    context = Context(
        course=lti_course(claims),
        issuer=str(claims["iss"]),
        client_id=str(aud[0] if isinstance(aud, list) else aud),
        deployment_id=str(claims.get(DEPLOYMENT_CLAIM, "")),
        context_id=str(context_claim.get("id", "")),
        title=str(context_claim.get("title") or context_claim.get("label") or ""),
        lineitems=ags.get("lineitems"),
        ags_scopes=tuple(ags.get("scope") or ()),
        memberships=nrps.get("context_memberships_url"),
    )
    ledger.record_context(context)
    return context


def deep_link_targets(root: Path) -> list[tuple[str, str, str]]:
    """(id, title, "module" or "course") for everything under the curriculum ``root`` a tutor
    may link to: every module that loads, then every course."""
    from ..content import loadable_courses, loadable_modules

    modules = [(m.spec.id, m.spec.title, "module") for m in loadable_modules(root)]
    return modules + [(c.spec.id, c.spec.title, "course") for c in loadable_courses(root)]


_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


class _Base(web.RequestHandler):
    config: ToolConfig
    ledger: Ledger
    store: _Store

    def initialize(self, config: ToolConfig, ledger: Ledger, store: _Store, **kw: Any) -> None:
        self.config, self.ledger, self.store = config, ledger, store
        self.extra = kw

    def check_xsrf_cookie(self) -> None:  # the VLE posts cross-site; JWTs carry the proof
        pass

    def page(self, title: str, body: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; form-action *; script-src 'unsafe-inline'",
        )
        self.finish(_PAGE.format(title=html.escape(title), body=body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        reason = self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message % exc.args
        if status_code >= 500:
            reason = "the tool failed; see its log"
        self.page(
            "LTI launch refused" if status_code < 500 else "Error",
            f"<p>{html.escape(reason)}</p>",
            status_code,
        )

    async def run(self, fn: Callable[[], Any]) -> Any:
        """pylti1p3 blocks (HTTP to the VLE): run it in a worker thread."""
        from tornado.ioloop import IOLoop

        return await IOLoop.current().run_in_executor(None, fn)


def _one_line(text: str) -> str:
    """A reason to show: one line, no control characters, at most 300 characters."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()[:300]


def _refused(status: int, message: str) -> web.HTTPError:
    """A refusal whose reason is shown (escaped) on the page; the status line keeps the standard
    phrase, so nothing a VLE or a visitor sent ever reaches a header."""
    return web.HTTPError(status, "%s", _one_line(message))


def _refuse(exc: Exception) -> web.HTTPError:
    return _refused(400, str(exc) or type(exc).__name__)


class LoginHandler(_Base):
    async def get(self) -> None:
        await self.login()

    async def post(self) -> None:
        await self.login()

    async def login(self) -> None:
        from pylti1p3.oidc_login import OIDCLogin
        from pylti1p3.redirect import Redirect

        class _Redirect(Redirect):  # type: ignore[misc]
            def __init__(self, url: str) -> None:
                self.url = url

            def do_redirect(self) -> str:
                return self.url

            def do_js_redirect(self) -> str:
                return self.url

            def set_redirect_url(self, location: str) -> None:
                self.url = location

            def get_redirect_url(self) -> str:
                return self.url

        class _Login(OIDCLogin):  # type: ignore[misc]
            def get_redirect(self, url: str) -> _Redirect:
                return _Redirect(url)

        request, cookies, session = _pylti(self.store, self)
        login = _Login(request, self.config.pylti_config(), session, cookies)
        target = self.get_argument("target_link_uri", "")
        if target and not target.startswith(self.config.tool_url + "/"):
            raise _refused(400, "target_link_uri is not this tool's")
        try:
            url = login.redirect(self.config.url("launch"))
        except Exception as exc:  # pylti1p3 raises plain exceptions for bad logins
            raise _refuse(exc) from None
        self.redirect(url)


class LaunchHandler(_Base):
    async def post(self) -> None:
        from pylti1p3.message_launch import MessageLaunch

        class _Launch(MessageLaunch):  # type: ignore[misc]
            def _get_request_param(self, key: str) -> str:
                return str(self._request.get_param(key))

        request, cookies, session = _pylti(self.store, self)
        launch = _Launch(request, self.config.pylti_config(), session, cookies)
        try:
            claims: dict[str, Any] = await self.run(launch.get_launch_data)
        except Exception as exc:
            raise _refuse(exc) from None
        try:
            context = record_launch(self.ledger, claims)
        except ValueError as exc:
            raise _refused(400, str(exc)) from None
        if launch.is_deep_link_launch():
            if not launch.check_teacher_access():
                raise _refused(403, "only a tutor may add courseware to the VLE")
            self.picker(launch.get_launch_id(), context.title or context.course)
            return
        target = str((claims.get(CUSTOM_CLAIM) or {}).get(TARGET, ""))
        if not target:
            self.page(
                "Courseware",
                "<p>This link does not name a module. Ask your tutor to add it again "
                "from the VLE's list of courseware.</p>",
            )
            return
        self.redirect(self.link(target)[0][1])

    def link(self, target: str) -> list[tuple[str, str]]:
        """(title, URL) of each module ``target`` opens (a module, or a course's modules); kept
        for the life of the process, as the curriculum it was served with is."""
        from ..apps import AppsError, module_links

        links: dict[str, list[tuple[str, str]]] = self.extra["links"]
        if target in links:
            return links[target]
        if len(target) > 200:
            raise _refused(400, "not a module or course id")
        try:
            found = module_links(
                target,
                hub=self.config.hub,
                repository=self.config.repository,
                branch=self.config.branch,
                root=self.config.curriculum,
            )
        except AppsError as exc:
            raise _refused(404, str(exc)) from None
        links[target] = [(m.title, m.url) for m in found]
        return links[target]

    def picker(self, launch_id: str, course: str) -> None:
        root = self.config.curriculum
        targets = deep_link_targets(root) if root else []
        items = "".join(
            f'<li><input type="radio" name="target" id="t{i}" value="{html.escape(tid)}"'
            f'{" checked" if i == 0 else ""}> <label for="t{i}">{html.escape(title)} '
            f"({kind})</label></li>"
            for i, (tid, title, kind) in enumerate(targets)
        )
        body = (
            f"<p>Choose what learners on {html.escape(course)} should open.</p>"
            f'<form method="post" action="{html.escape(self.config.url("deep-link"))}">'
            f'<input type="hidden" name="launch_id" value="{html.escape(launch_id)}">'
            f"<fieldset><legend>Module or course</legend><ul>{items}</ul></fieldset>"
            '<button type="submit">Add to the VLE</button></form>'
        )
        self.page("Add courseware", body)


class DeepLinkHandler(LaunchHandler):
    async def post(self) -> None:
        from pylti1p3.deep_link_resource import DeepLinkResource
        from pylti1p3.message_launch import MessageLaunch

        class _Launch(MessageLaunch):  # type: ignore[misc]
            def _get_request_param(self, key: str) -> str:
                return str(self._request.get_param(key))

        launch_id = self.get_argument("launch_id", "")
        target = self.get_argument("target", "")
        if not launch_id.startswith("lti1p3-launch-") or not target:
            raise _refused(400, "give the launch and a module or course to link")
        request, cookies, session = _pylti(self.store, self)
        key = session.data_storage._prepare_key(launch_id)
        if self.store.get(key) is None:
            raise _refused(400, "this deep-linking launch has expired or was used")
        launch = _Launch.from_cache(
            launch_id, request, self.config.pylti_config(), session, cookies
        )
        if not launch.is_deep_link_launch():
            raise _refused(400, "not a deep-linking launch")
        settings = launch.get_launch_data()[
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
        ]
        links = self.link(target)
        if not settings.get("accept_multiple", True):
            links = links[:1]
        resources = [
            DeepLinkResource()
            .set_type("ltiResourceLink")
            .set_title(title)
            .set_url(self.config.url("launch"))
            .set_custom_params({TARGET: _module_of(url)})
            for title, url in links
        ]
        deep_link = launch.get_deep_link()
        token = deep_link.get_response_jwt(resources)
        self.store.get(key, pop=True)  # one response per deep-linking launch
        return_url = str(settings["deep_link_return_url"])
        body = (
            f'<form id="return" method="post" action="{html.escape(return_url)}">'
            f'<input type="hidden" name="JWT" value="{html.escape(token)}">'
            '<button type="submit">Return to the VLE</button></form>'
            "<script>document.getElementById('return').submit();</script>"
        )
        self.page("Returning to the VLE", body)


def _module_of(url: str) -> str:
    """The module id at the end of a module link's ``urlpath`` (``.../module/<id>``)."""
    from urllib.parse import parse_qs, urlparse

    urlpath = parse_qs(urlparse(url).query).get("urlpath", [""])[0]
    return urlpath.rstrip("/").rsplit("/", 1)[-1]


class JwksHandler(_Base):
    def get(self) -> None:
        from pylti1p3.registration import Registration

        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"keys": [Registration.get_jwk(self.config.public_pem())]}))


def make_app(config: ToolConfig, *, prefix: str = "/") -> web.Application:
    """The tool's Tornado application; ``prefix`` is the path of ``tool_url`` on this server."""
    import courseware.apps  # noqa: F401  (Voila's imports are slow: pay at start, not at a launch)

    ledger = Ledger(config.state)
    kw = {"config": config, "ledger": ledger, "store": _Store(), "links": {}}
    base = "/" + prefix.strip("/")
    base = "" if base == "/" else base
    return web.Application(
        [
            (f"{base}/login", LoginHandler, kw),
            (f"{base}/launch", LaunchHandler, kw),
            (f"{base}/deep-link", DeepLinkHandler, kw),
            (f"{base}/jwks", JwksHandler, kw),
        ]
    )
