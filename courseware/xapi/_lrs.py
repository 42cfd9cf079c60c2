"""A small client for an LRS's statements resource (xAPI 1.0.3), standard library only."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from ._settings import XAPIError
from ._statements import XAPI_VERSION


class LRSUnavailable(XAPIError):
    """The LRS did not answer, or answered 5xx or 429: try again later."""


class LRSRefused(XAPIError):
    """The LRS answered 4xx; ``status`` says which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"LRS refused ({status}): {message[:600]}")
        self.status = status


class LRSClient:
    """POST and GET ``<endpoint>statements`` with Basic credentials and the xAPI version header.

    ``endpoint`` is the LRS's xAPI endpoint (e.g. ``https://lrs.example.ac.uk/xAPI/``).
    """

    def __init__(
        self, endpoint: str, username: str = "", password: str = "", *, timeout: float = 20.0
    ) -> None:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise XAPIError(f"not an http(s) LRS endpoint: {endpoint!r}")
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self._headers = {"X-Experience-API-Version": XAPI_VERSION, "Accept": "application/json"}
        if username or password:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self.timeout = timeout

    def _request(
        self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        query = urllib.parse.urlencode(params or {})
        target = self._path + path + (f"?{query}" if query else "")
        headers = dict(self._headers)
        payload = None
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.timeout)
        try:
            conn.request(method, target, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            raise LRSUnavailable(f"{self.endpoint}: {e}") from e
        finally:
            conn.close()
        if response.status >= 500 or response.status == 429:
            raise LRSUnavailable(f"{self.endpoint}: HTTP {response.status}")
        if response.status >= 400:
            raise LRSRefused(response.status, data.decode("utf-8", "replace"))
        return json.loads(data) if data else None

    def send(self, statements: Sequence[Mapping[str, Any]]) -> list[str]:
        """POST a batch; the ids the LRS stored."""
        answer = self._request("POST", "statements", body=list(statements))
        return [str(i) for i in answer] if isinstance(answer, list) else []

    def statements(self, **params: str) -> list[dict[str, Any]]:
        """GET every statement matching ``params`` (following ``more`` links)."""
        found: list[dict[str, Any]] = []
        answer = self._request("GET", "statements", params=params)
        while True:
            found += answer.get("statements", [])
            more = answer.get("more") or ""
            if not more:
                return found
            parts = urllib.parse.urlsplit(more)
            query = dict(urllib.parse.parse_qsl(parts.query))
            answer = self._request("GET", "statements", params=query)
