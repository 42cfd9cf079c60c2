"""The courseware service: a tornado app the hub runs, owning the shared store.

Every request is authenticated by JupyterHub (``HubOAuthenticated``: a token in the
``Authorization`` header, or the OAuth cookie in a browser); what the token may do comes from its
custom scopes (:mod:`._roles`), enforced by each handler here. Writes go through a
:class:`BatchWriter` that commits whatever arrived together in one transaction (group commit),
so many learners autosaving at once cost few database round trips, and each reply is sent only
after its events are durably stored.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from jupyterhub.services.auth import HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web

from ..feedback import CodeEndpoint, shared_host
from ._cohort import CohortPageHandler, cohort_page
from ._events import AggregatesHandler, EventsHandler, LatestHandler, MeHandler
from ._fairshare import RATE_LIMIT_ENV, FairShare
from ._handlers import APIHandler, HealthHandler, NotFoundHandler, ServiceState, _short
from ._polls import (
    GroupPollsHandler,
    PollAnswerHandler,
    PollCloseHandler,
    PollHandler,
    PollResultsHandler,
)
from ._visibility import shared_reflections, visible_to_others
from ._writer import BatchWriter

__all__ = [
    "RATE_LIMIT_ENV",
    "ROUTES",
    "BatchWriter",
    "FairShare",
    "ServiceState",
    "cohort_page",
    "make_app",
    "shared_reflections",
    "visible_to_others",
]

log = logging.getLogger("courseware.hub")


class FeedbackCodeHandler(APIHandler, CodeEndpoint):
    """``POST /api/feedback/code {"statement", "reply"}``: the reply coder for every learner's
    kernel on the hub (one model in this service; see :mod:`courseware.feedback._web`)."""

    def initialize(self, state: ServiceState) -> None:
        super().initialize(state)
        self.host = state.coder if state.coder is not None else shared_host()

    def authorised(self) -> bool:
        return self.perms.learner

    def get(self) -> None:
        self.warm()

    def request_body(self) -> bytes:
        return bytes(self._body)  # APIHandler streams the body in (after its size check)

    async def post(self) -> None:
        await self.answer()


ROUTES: list[tuple[str, type[web.RequestHandler]]] = [
    ("api/health", HealthHandler),
    ("api/me", MeHandler),
    ("api/events", EventsHandler),
    ("api/events/latest", LatestHandler),
    (r"api/groups/([^/]+)/aggregates", AggregatesHandler),
    (r"api/groups/([^/]+)/polls", GroupPollsHandler),
    (r"api/polls/([0-9]+)", PollHandler),
    (r"api/polls/([0-9]+)/answers", PollAnswerHandler),
    (r"api/polls/([0-9]+)/close", PollCloseHandler),
    (r"api/polls/([0-9]+)/results", PollResultsHandler),
    (r"cohort/([^/]+)", CohortPageHandler),
    ("api/feedback/code", FeedbackCodeHandler),
]
"""Every endpoint, relative to the service prefix (the 403 test walks this list)."""


class OAuthCallbackHandler(HubOAuthCallbackHandler):  # type: ignore[misc]
    """Finishes JupyterHub's OAuth login for a browser (``<prefix>/oauth_callback``)."""

    def initialize(self, state: ServiceState) -> None:
        self.hub_auth = state.hub_auth


def _log_request(handler: web.RequestHandler) -> None:
    """Errors at INFO and above; successful requests only at DEBUG (hundreds a second).

    A path is cut at 200 characters, so a hostile 30 KB URL cannot flood the log."""
    status = handler.get_status()
    level = (
        logging.DEBUG
        if status < 400 or status == 429  # 429: a flood, counted by FairShare, not logged
        else logging.WARNING
        if status < 500
        else logging.ERROR
    )
    if log.isEnabledFor(level):
        request = handler.request
        millis = 1000.0 * request.request_time()
        log.log(level, "%d %s %s %.1fms", status, request.method, _short(request.path), millis)


def make_app(state: ServiceState, prefix: str = "/services/courseware/") -> web.Application:
    """The tornado application serving :data:`ROUTES` under ``prefix``."""
    handlers: list[Any] = [
        (url_path_join(prefix, path), handler, {"state": state}) for path, handler in ROUTES
    ]
    handlers.append(
        (url_path_join(prefix, "oauth_callback"), OAuthCallbackHandler, {"state": state})
    )
    secret = os.environ.get("COURSEWARE_COOKIE_SECRET", "").encode() or os.urandom(32)
    return web.Application(
        handlers,
        default_handler_class=NotFoundHandler,
        log_function=_log_request,
        cookie_secret=secret,
        hub_auth=state.hub_auth,
        xsrf_cookies=False,
    )
