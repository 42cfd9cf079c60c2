"""The courseware service's HTTP client: JSON over HTTP, authenticated by a JupyterHub token.

Requests travel through a transport (:mod:`._transport`): HTTP by default, a function in tests.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

from ..errors import CoursewareError
from ._transport import HTTPTransport, Request, Transport

SERVICE_PREFIX = "courseware+"
"""``courseware+http://host:port/services/courseware/`` names the service as a store location."""

HUB_SERVICE = "hub-service"
"""``COURSEWARE_STORE=hub-service``: the service at ``$COURSEWARE_SERVICE_URL``."""


class ServiceError(CoursewareError, RuntimeError):
    """The service could not be used."""


class ServiceUnavailable(ServiceError):
    """The service did not answer (down, restarting or too slow); try again later.

    ``status`` is the HTTP status of a 5xx or 429 answer, or ``None`` if nothing answered.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ServiceRefused(ServiceError):
    """The service answered with an error status (403: not allowed; 400: bad request)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def service_url(location: str) -> str:
    """The service's base URL (ending in ``/``) for a store location."""
    if location == HUB_SERVICE:
        configured = os.environ.get("COURSEWARE_SERVICE_URL", "").strip()
        if not configured:
            raise ServiceError(
                "COURSEWARE_STORE=hub-service needs COURSEWARE_SERVICE_URL, e.g."
                " http://127.0.0.1:10101/services/courseware/"
            )
        location = configured
    url = location.removeprefix(SERVICE_PREFIX)
    if not url.startswith(("http://", "https://")):
        raise ServiceError(f"not an http(s) URL for the courseware service: {location!r}")
    return url if url.endswith("/") else url + "/"


class ServiceClient:
    """A small JSON client for the courseware service, authenticated by a hub token.

    Requests travel through ``transport`` (default: :class:`HTTPTransport`, one kept-alive
    connection); a :class:`MockTransport` answers them in this process instead, for tests.
    Thread-safe as its transport is (one request at a time over HTTP).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: Transport | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServiceError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._token = token
        self.timeout = timeout
        self.transport: Transport = transport or HTTPTransport(timeout=timeout)

    def close(self) -> None:
        self.transport.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: Any = None,
    ) -> Any:
        """Send a request; return the decoded JSON answer or raise a :class:`ServiceError`."""
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = self.base_url + path.lstrip("/") + (f"?{query}" if query else "")
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Authorization": f"token {self._token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self.transport.handle(Request(method, url, headers, payload))
        except OSError as e:  # refused, reset, timed out: nothing answered
            raise ServiceUnavailable(f"{self.base_url}: {e}") from e
        if response.status >= 500 or response.status == 429:
            raise ServiceUnavailable(f"{self.base_url}: HTTP {response.status}", response.status)
        try:
            answer = json.loads(response.body) if response.body else None
        except ValueError as e:
            raise ServiceRefused(
                response.status, "the service sent something other than JSON"
            ) from e
        if response.status >= 400:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise ServiceRefused(response.status, message or response.reason)
        return answer
