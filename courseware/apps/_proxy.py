"""The courseware app inside each learner's Jupyter server, through jupyter-server-proxy.

jupyter-server-proxy finds :func:`server_proxy` through the ``jupyter_serverproxy_servers`` entry
point (pyproject.toml): on the first visit to ``/user/<name>/courseware/`` (or a click on the
JupyterLab launcher card) it starts ``courseware serve`` on a free loopback port with that base URL
and forwards every request and websocket to it, after the learner's server has checked who is
asking. The app therefore runs as the learner, with their server's environment: their hub identity
and ``COURSEWARE_STORE`` (the courseware service), so their work is saved as theirs.

A loopback port can be reached by every account on the machine, not only through the proxy. So
the proxy adds a secret header (made afresh each time the learner's server starts, given to the app
in its environment and removed from it before any kernel starts) and :func:`guard` refuses any
request without it. The one exception is Voila's request-info socket, which a preheated kernel
opens itself; it answers only to a kernel's unguessable id.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.utils import url_path_join

from ._links import APP_PATH

ICON = Path(__file__).parent / "share" / "icons" / "courseware.svg"
TOKEN_VARIABLE = "COURSEWARE_PROXY_TOKEN"
HEADER = "X-Courseware-Proxy"
ROOT_VARIABLE = "COURSEWARE_APP_ROOT"
CONFIG_VARIABLE = "COURSEWARE_APP_CONFIG"
TITLE = "Courseware modules"


def _literal(text: str) -> str:
    """``text`` as it must appear in a jupyter-server-proxy command (which ``str.format``s it)."""
    return text.replace("{", "{{").replace("}", "}}")


def server_proxy() -> dict[str, Any]:
    """jupyter-server-proxy's description of the courseware app (read when the server starts).

    It serves ``$COURSEWARE_APP_ROOT`` if set, else the server's working folder (the learner's
    home on a hub, where nbgitpuller puts courses), finding modules anywhere below it; branding
    and limits come from ``$COURSEWARE_APP_CONFIG`` (a courseware.yaml) if set.
    """
    token = secrets.token_urlsafe(32)
    root = os.environ.get(ROOT_VARIABLE) or os.getcwd()
    command = [
        sys.executable,
        "-m",
        "courseware.cli",
        "serve",
        "--root",
        _literal(root),
        "--port",
        "{port}",
        "--base-url",
        "{base_url}" + APP_PATH,
    ]
    config = os.environ.get(CONFIG_VARIABLE)
    if config:
        command += ["--config", _literal(config)]
    return {
        "command": command,
        "environment": {TOKEN_VARIABLE: token},
        "request_headers_override": {HEADER: token},
        "absolute_url": True,  # the app knows its base URL; links and redirects stay right
        "timeout": 90,  # Voila's start on a busy machine
        "new_browser_tab": True,
        "launcher_entry": {"enabled": True, "title": TITLE, "icon_path": str(ICON)},
    }


class _RefusedHandler(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("Open the courseware through your Jupyter server (/user/<name>/courseware/).\n")


def guard(app: tornado.web.Application, token: str, server_url: str) -> None:
    """Let through only requests carrying the proxy's secret header (and kernels' request-info
    sockets); anything else reaching the port directly gets 403."""
    find = app.find_handler
    query = url_path_join(server_url, "voila/query/")

    def find_handler(request: Any, **kwargs: Any) -> Any:
        given = request.headers.get(HEADER, "")
        if hmac.compare_digest(given.encode(), token.encode()) or request.path.startswith(query):
            return find(request, **kwargs)
        return app.get_handler_delegate(request, _RefusedHandler)

    app.find_handler = find_handler  # type: ignore[method-assign]


def take_token() -> str | None:
    """The proxy's secret, removed from the environment so that no kernel inherits it."""
    return os.environ.pop(TOKEN_VARIABLE, None)
