"""The courseware service's HTTP client: JSON over HTTP, authenticated by a JupyterHub token.

Uses only the standard library (``http.client``), so a kernel stays light.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

SERVICE_PREFIX = "courseware+"
"""``courseware+http://host:port/services/courseware/`` names the service as a store location."""

HUB_SERVICE = "hub-service"
"""``COURSEWARE_STORE=hub-service``: the service at ``$COURSEWARE_SERVICE_URL``."""


class ServiceError(RuntimeError):
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
    """A small JSON-over-HTTP client for the courseware service, authenticated by a hub token.

    Keeps one connection open (keep-alive); thread-safe (one request at a time per client).
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServiceError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self._token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

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
        target = self._path + path.lstrip("/") + (f"?{query}" if query else "")
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Authorization": f"token {self._token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed is retried once
                conn = self._connect()
                try:
                    conn.request(method, target, body=payload, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                    conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise ServiceUnavailable(f"{self.base_url}: {e}") from e
                except (OSError, http.client.HTTPException) as e:  # refused, timed out
                    conn.close()
                    self._conn = None
                    raise ServiceUnavailable(f"{self.base_url}: {e}") from e
        if response.status >= 500 or response.status == 429:
            raise ServiceUnavailable(f"{self.base_url}: HTTP {response.status}", response.status)
        try:
            answer = json.loads(data) if data else None
        except ValueError as e:
            raise ServiceRefused(
                response.status, "the service sent something other than JSON"
            ) from e
        if response.status >= 400:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise ServiceRefused(response.status, message or response.reason)
        return answer
