"""The learner kernel's side of the reply coder: ask the server that hosts it, over HTTP.

The model never loads in a learner's kernel (it would add about 100 MB to every kernel). The server
that started the kernel hosts one copy and tells the kernel where it is:

* ``COURSEWARE_CODER_URL`` (+ ``COURSEWARE_CODER_TOKEN``), set by ``courseware serve``,
  ``courseware seminar`` and the JupyterLab server extension before kernels start;
* on a JupyterHub, the courseware service named by ``COURSEWARE_STORE=courseware+http…``
  (or ``hub-service`` with ``COURSEWARE_SERVICE_URL``), called with the kernel's own
  ``JUPYTERHUB_API_TOKEN``, as the store does.

Standard library only (``urllib``), a short timeout, and every failure becomes
:class:`FeedbackUnavailable` with words a learner can read: an exercise never breaks because the
coder is down.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from ..content import Coding
from ..errors import CoursewareError

__all__ = [
    "UNAVAILABLE_MESSAGE",
    "FeedbackUnavailable",
    "coder_endpoint",
    "request_coding",
    "warm_coder",
]

log = logging.getLogger("courseware.feedback")

URL_ENV = "COURSEWARE_CODER_URL"
TOKEN_ENV = "COURSEWARE_CODER_TOKEN"
ROUTE = "api/feedback/code"
TIMEOUT = 3.0
MAX_REPLY = 50_000

UNAVAILABLE_MESSAGE = (
    "Automatic feedback is unavailable right now. Your reply is saved: compare it with your own "
    "coding and the model replies below."
)
"""What a learner is told when the coder cannot be reached."""


class FeedbackUnavailable(CoursewareError, RuntimeError):
    """The coder could not code this reply now (not configured, down, busy or refused)."""


def coder_endpoint(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(url, token)`` of the coder this kernel should use, or None if no server offers one."""
    env = os.environ if environ is None else environ
    url = env.get(URL_ENV, "").strip()
    if url:
        return url, env.get(TOKEN_ENV, "").strip()
    store = env.get("COURSEWARE_STORE", "").strip()
    if store == "hub-service":
        store = env.get("COURSEWARE_SERVICE_URL", "").strip()
    base = store.removeprefix("courseware+")
    token = env.get("JUPYTERHUB_API_TOKEN") or env.get("JPY_API_TOKEN") or ""
    if base.startswith(("http://", "https://")) and token:
        return (base if base.endswith("/") else base + "/") + ROUTE, token
    return None


def request_coding(
    statement: str,
    reply: str,
    *,
    timeout: float = TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> Coding:
    """Code ``reply`` (to ``statement``) on the server hosting the coder.

    Raises :class:`FeedbackUnavailable` (never anything else) when that is not possible now.
    """
    endpoint = coder_endpoint(environ)
    if endpoint is None:
        raise FeedbackUnavailable("no server hosting the reply coder is configured")
    if len(reply) > MAX_REPLY or len(statement) > MAX_REPLY:
        raise FeedbackUnavailable(f"replies longer than {MAX_REPLY:,} characters are not coded")
    url, token = endpoint
    body = json.dumps({"statement": statement, "reply": reply}).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"token {token}"},
    )
    # Straight to the server, like the store's client: never through an HTTP proxy from the
    # environment (learner text stays on the institution's machines).
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            data: Any = json.loads(response.read().decode("utf-8"))
        return Coding.from_dict(data)
    except urllib.error.HTTPError as e:
        raise FeedbackUnavailable(f"the coder answered {e.code}: {_message(e)}") from None
    except (OSError, ValueError, TypeError, KeyError) as e:  # down, timed out, garbled
        raise FeedbackUnavailable(f"the coder could not be reached: {e}") from None


def warm_coder(environ: Mapping[str, str] | None = None) -> None:
    """Ask the server to load its coder now, in the background (a page with a writing exercise
    has opened, so a reply is coming). Never waits and never raises."""
    endpoint = coder_endpoint(environ)
    if endpoint is None:
        return
    url, token = endpoint

    def ask() -> None:
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            opener.open(request, timeout=TIMEOUT).close()
        except Exception as e:  # nothing depends on it
            log.debug("warming the coder failed: %s", e)

    threading.Thread(target=ask, name="courseware-warm-coder", daemon=True).start()


def _message(error: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(error.read().decode("utf-8"))
        return str(data.get("message", ""))
    except Exception:
        return error.reason if isinstance(error.reason, str) else ""
