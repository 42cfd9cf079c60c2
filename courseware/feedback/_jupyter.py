"""A Jupyter server extension: single-user JupyterLab (no hub) hosts the reply coder for its kernels.

Enabled by ``etc/jupyter/jupyter_server_config.d/courseware.json`` (installed with the package), or
by hand with ``jupyter server extension enable courseware.feedback._jupyter``. It mounts
``<base_url>api/feedback/code`` and puts its address and a random token in the environment the
server's kernels inherit. It stands aside when someone else already hosts the coder: a
``COURSEWARE_CODER_URL`` set before the server started, or a JupyterHub courseware service that
the learner's store points at (one model for the whole hub, not one per learner's server).
"""

from __future__ import annotations

from typing import Any

from ._client import coder_endpoint
from ._web import ROUTE, URL_ENV, TokenCodeHandler, advertise, readvertise, shared_host

__all__: list[str] = []


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "courseware.feedback._jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Mount the endpoint and tell kernels where it is (unless the coder is hosted elsewhere)."""
    import os

    from jupyter_server.utils import url_path_join

    if coder_endpoint() is not None:
        serverapp.log.info(
            "courseware: the reply coder is hosted elsewhere (%s); not loading it here",
            os.environ.get(URL_ENV) or "the JupyterHub courseware service",
        )
        return
    if getattr(serverapp, "sock", ""):
        serverapp.log.info("courseware: serving on a Unix socket; no reply coder for kernels")
        return
    base_url = serverapp.base_url

    def url() -> str:
        host = serverapp.ip if serverapp.ip not in ("", "0.0.0.0", "::", "localhost") else None
        host = f"[{host}]" if host and ":" in host else host or "127.0.0.1"
        return f"http://{host}:{serverapp.port}{url_path_join(base_url, ROUTE)}"

    token = advertise(url())
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (
                url_path_join(base_url, ROUTE),
                TokenCodeHandler,
                {"host": shared_host(), "token": token},
            )
        ],
    )

    # the port is chosen after extensions load (port_retries): correct it once the loop runs
    serverapp.io_loop.add_callback(lambda: readvertise(url(), token))
    serverapp.log.info("courseware: reply coder for this server's kernels at %s", url())
