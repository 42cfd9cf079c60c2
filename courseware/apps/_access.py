"""Who may reach what: the seminar's gate in front of every route, and loopback-only answers.

A gate (the ``courseware_gate`` setting: during a seminar, its room) decides on every request
before any handler runs (:func:`install_gate`), Voila's own routes and API included; our own
handlers ask it too (:func:`gate_refuses`). Only the routes kernels call themselves pass it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import tornado.web


def gate_refuses(handler: tornado.web.RequestHandler) -> bool:
    """Whether the app's gate (a seminar lets only its presenter open modules) turned this request
    away; if so the response has been sent."""
    gate = handler.settings.get("courseware_gate")
    if gate is None or gate.allows(handler):
        return False
    gate.refuse(handler)
    return True


KERNEL_ROUTES = ("/voila/query/", "/courseware/api/")
"""Routes kernels call themselves, each answering only to a secret (a kernel id, a token) or to
loopback: a gate lets them through."""


class _GatedHandler(tornado.web.RequestHandler):
    """Whatever was asked for, the gate's answer (a redirect to the join page, or 403)."""

    def prepare(self) -> None:
        self.settings["courseware_gate"].refuse(self)


def install_gate(app: tornado.web.Application, base_url: str) -> None:
    """Put the app's gate (``courseware_gate`` setting) in front of every route, Voila's own
    included: a request it does not let through never reaches a handler."""
    gate = app.settings.get("courseware_gate")
    if gate is None:
        return
    find = app.find_handler
    exempt = tuple(base_url.rstrip("/") + route for route in KERNEL_ROUTES)

    def find_handler(request: Any, **kwargs: Any) -> Any:
        path = request.path or ""
        if gate.open_to_all(path) or path.startswith(exempt):
            return find(request, **kwargs)
        if gate.allows_request(request):
            return find(request, **kwargs)
        return app.get_handler_delegate(request, _GatedHandler)

    app.find_handler = find_handler  # type: ignore[method-assign]


def is_loopback(ip: str) -> bool:
    """Whether a listening address only reaches this machine."""
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
