"""The reply coder on the network: one model per server process, never one per learner kernel.

Every server that runs learners' kernels (the JupyterHub courseware service, ``courseware serve``,
``courseware seminar`` and single-user JupyterLab) mounts ``POST …/api/feedback/code`` with
``{"statement": str, "reply": str}`` and answers the Coding wire format (``Coding.to_dict``). The
model (about 100 MB) loads lazily, once per process, in a single worker thread that also runs
every coding, so the event loop never waits on it. A bounded queue in front of the worker turns
overload into ``503`` with ``Retry-After``; a missing model is ``503 {"message": "automatic
feedback is unavailable"}``. Malformed requests get a 4xx with a reason, never a 500.

Who may call is decided by the mount: the hub service checks the learner scope on the caller's hub
token; the others check a random per-server token (``COURSEWARE_CODER_TOKEN``) that only the
kernels this server starts are given (see :func:`advertise`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from tornado import web

from ..content import Coding
from ..errors import CoursewareError

__all__ = [
    "MAX_BODY",
    "MAX_REPLY",
    "CodeRequestError",
    "CoderHost",
    "advertise",
    "parse_request",
    "shared_host",
]

log = logging.getLogger("courseware.feedback")

MAX_REPLY = 50_000
"""Longest reply (and patient statement) the coder reads, in characters."""

MAX_BODY = 256 * 1024
"""Largest request body, in bytes."""

CODED_CHARS = 5_000
"""How much of a reply the coder reads (its cost grows with length: about 2 s for 5,000
characters on one core). A longer reply is accepted and its first part coded, so one pasted essay
cannot hold the single worker for half a minute; evidence offsets stay those of the full reply."""

MAX_QUEUE = 16
"""Codings waiting for the worker before new requests are turned away (503, Retry-After)."""

UNAVAILABLE = "automatic feedback is unavailable"
URL_ENV = "COURSEWARE_CODER_URL"
TOKEN_ENV = "COURSEWARE_CODER_TOKEN"
ROUTE = "api/feedback/code"
"""Where the endpoint sits under a server's (or the hub service's) base URL."""


class _Coder(Protocol):
    version: str

    def code(self, statement: str, reply: str) -> Coding: ...


class CodeRequestError(CoursewareError, ValueError):
    """A request the endpoint refuses: its HTTP status and a message safe to show the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CoderBusy(CoursewareError, RuntimeError):
    """Too many codings are waiting; try again in a moment."""


class CoderDown(CoursewareError, RuntimeError):
    """The model is missing or failed; automatic feedback is unavailable in this process."""


def parse_request(body: bytes) -> tuple[str, str]:
    """Check a request body; return ``(statement, reply)`` or raise :class:`CodeRequestError`."""
    if len(body) > MAX_BODY:
        raise CodeRequestError(413, f"the request is larger than {MAX_BODY // 1024} KB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CodeRequestError(400, f"the request is not valid UTF-8 (byte {e.start})") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise CodeRequestError(400, f"the request body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise CodeRequestError(400, 'expected a JSON object {"statement": …, "reply": …}')
    fields = []
    for name in ("statement", "reply"):
        value = data.get(name)
        if not isinstance(value, str):
            raise CodeRequestError(400, f"{name}: must be a string")
        if len(value) > MAX_REPLY:
            raise CodeRequestError(413, f"{name}: longer than {MAX_REPLY:,} characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CodeRequestError(400, f"{name}: contains an unpaired surrogate") from None
        if "\0" in value:
            raise CodeRequestError(400, f"{name}: contains a NUL character")
        fields.append(value)
    if not fields[1].strip():
        raise CodeRequestError(400, "reply: is empty")
    return fields[0], fields[1]


def _load_default() -> _Coder:
    from . import load_coder  # the coder (numpy): server side only

    coder: _Coder = load_coder()
    return coder


class CoderHost:
    """One coder for a process: loaded lazily in its own worker thread, which runs every coding.

    ``loader`` builds the coder (default: the installed model); it raises when the model is
    missing, and then every request is answered "unavailable" without trying again.
    """

    def __init__(
        self, loader: Callable[[], _Coder] | None = None, *, max_queue: int = MAX_QUEUE
    ) -> None:
        self._loader = loader or _load_default
        self.max_queue = max_queue
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="courseware-coder")
        self._lock = threading.Lock()
        self._waiting = 0
        self._coder: _Coder | None = None
        self._failure: str | None = None
        self._warming = False

    @property
    def version(self) -> str | None:
        """The loaded model's version, or None before it is loaded."""
        return self._coder.version if self._coder is not None else None

    def _load(self) -> _Coder:
        if self._coder is None:
            if self._failure is not None:
                raise CoderDown(self._failure)
            try:
                self._coder = self._loader()
            except Exception as e:  # a missing or broken model: say so once, then stay down
                self._failure = f"{type(e).__name__}: {e}"
                log.warning(
                    "the reply coder could not be loaded (%s); %s", self._failure, UNAVAILABLE
                )
                raise CoderDown(self._failure) from None
        return self._coder

    def _run(self, statement: str, reply: str) -> dict[str, Any]:
        coder = self._load()
        if len(reply) > CODED_CHARS:
            cut = reply.rfind(" ", 0, CODED_CHARS)
            reply = reply[: cut if cut > CODED_CHARS // 2 else CODED_CHARS]
        return coder.code(statement[-CODED_CHARS:], reply).to_dict()

    def warm(self) -> str:
        """Start loading the model in the worker (once), without waiting: a page with a writing
        exercise asks for this, so the learner's first reply does not wait for the load.
        Returns ``ready``, ``loading`` or ``unavailable``."""
        if self._coder is not None:
            return "ready"
        if self._failure is not None:
            return "unavailable"
        with self._lock:
            if not self._warming:
                self._warming = True
                self._executor.submit(self._warm_quietly)
        return "loading"

    def _warm_quietly(self) -> None:
        with contextlib.suppress(CoderDown):
            self._load()

    async def code(self, statement: str, reply: str) -> dict[str, Any]:
        """The Coding wire dict for a reply; raises :class:`CoderBusy` or :class:`CoderDown`."""
        with self._lock:
            if self._waiting >= self.max_queue:
                raise CoderBusy()
            self._waiting += 1
        try:
            future = self._executor.submit(self._run, statement, reply)
            return await asyncio.wrap_future(future)
        finally:
            with self._lock:
                self._waiting -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_shared: CoderHost | None = None
_shared_lock = threading.Lock()


def shared_host() -> CoderHost:
    """The process's one :class:`CoderHost` (created on first use; the model loads later still)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CoderHost()
        return _shared


_advertised: set[str] = set()


def advertise(url: str, *, environ: dict[str, str] | None = None) -> str | None:
    """Tell kernels this server hosts the coder: set ``COURSEWARE_CODER_URL`` and a random
    ``COURSEWARE_CODER_TOKEN`` in the environment kernels inherit, unless a URL was set by
    someone else (e.g. before this process started). Returns the token the endpoint must check,
    or None if the kernels are sent elsewhere."""
    from ._client import coder_endpoint

    env = os.environ if environ is None else environ
    current = env.get(URL_ENV, "").strip()
    if current and current not in _advertised:
        return None
    if not current and coder_endpoint(env) is not None:
        return None  # on JupyterHub: the courseware service hosts the one coder for everyone
    token = secrets.token_urlsafe(32)
    env[URL_ENV] = url
    env[TOKEN_ENV] = token
    _advertised.add(url)
    return token


def readvertise(url: str, token: str | None) -> None:
    """Correct the advertised address once the server's port is final (same token)."""
    if token is not None and os.environ.get(TOKEN_ENV) == token:
        os.environ[URL_ENV] = url
        _advertised.add(url)


def token_matches(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization: token …`` header carries ``token`` (constant-time)."""
    if not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() not in ("token", "bearer"):
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class CodeEndpoint(web.RequestHandler):
    """``POST``: code one reply. Subclasses decide who may call (:meth:`authorised`)."""

    host: CoderHost

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        """Kernels call with a token header, never a browser cookie: no XSRF to check."""

    def fail(self, status: int, message: str, **extra: Any) -> None:
        self.set_status(status)
        self.finish(json.dumps({"status": status, "message": message, **extra}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        message = self._reason
        exc = kwargs.get("exc_info")
        if exc and isinstance(exc[1], web.HTTPError) and exc[1].log_message:
            error: web.HTTPError = exc[1]
            template = str(error.log_message)
            message = template % error.args if error.args else template
        self.finish(json.dumps({"status": status_code, "message": message}))

    def authorised(self) -> bool:
        raise NotImplementedError

    def request_body(self) -> bytes:
        """The request's body (a handler that streams it in keeps it elsewhere)."""
        return self.request.body or b""

    def warm(self) -> None:
        """``GET``: start loading the model if needed; say whether it is ready."""
        if not self.authorised():
            self.fail(403, "this endpoint is for the courseware in your notebook")
            return
        self.finish(json.dumps({"coder": self.host.warm()}))

    async def answer(self) -> None:
        if not self.authorised():
            self.fail(403, "this endpoint is for the courseware in your notebook")
            return
        try:
            statement, reply = parse_request(self.request_body())
        except CodeRequestError as e:
            self.fail(e.status, e.message)
            return
        try:
            coding = await self.host.code(statement, reply)
        except CoderBusy:
            self.set_header("Retry-After", "2")
            self.fail(503, "the coder is busy; try again in a moment")
            return
        except CoderDown:
            self.fail(503, UNAVAILABLE)
            return
        except Exception:
            log.exception("the reply coder failed on a reply of %d characters", len(reply))
            self.fail(503, UNAVAILABLE)
            return
        self.finish(json.dumps(coding, ensure_ascii=False, separators=(",", ":")))


class TokenCodeHandler(CodeEndpoint):
    """The endpoint on ``courseware serve``/``seminar``: callers show the per-server token."""

    def initialize(self, host: CoderHost, token: str | None) -> None:
        self.host = host
        self.token = token

    def authorised(self) -> bool:
        return token_matches(self.request.headers.get("Authorization"), self.token)

    def get(self) -> None:
        self.warm()

    async def post(self) -> None:
        await self.answer()
