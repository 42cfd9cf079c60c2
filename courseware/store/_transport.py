"""How the service client's requests travel: over HTTP, or to a function in the same process.

:class:`~courseware.store.ServiceClient` builds a :class:`Request` and hands it to a transport.
:class:`HTTPTransport` sends it over one kept-alive connection (``http.client``, so a kernel stays
light); :class:`MockTransport` passes it to a function instead, so delivery, refusal and retry
can be tested without a hub (httpx ships its ``MockTransport`` for the same reason). A transport
raises ``OSError`` (``ConnectionError``, ``TimeoutError``) when nothing answered; any answer, an
error status included, is a :class:`Response`.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["HTTPTransport", "MockTransport", "Request", "Response", "Transport"]


@dataclass(frozen=True)
class Request:
    """One request to the service: method, full URL, headers and the body's bytes."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @property
    def path(self) -> str:
        """The URL's path (no query)."""
        return urllib.parse.urlsplit(self.url).path

    @property
    def params(self) -> dict[str, str]:
        """The query parameters (each given once)."""
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.url).query))

    def json(self) -> Any:
        """The body as JSON (``None`` if there is none)."""
        return None if self.body is None else json.loads(self.body)


@dataclass(frozen=True)
class Response:
    """The service's answer: HTTP status, reason phrase and body."""

    status: int
    body: bytes = b""
    reason: str = ""

    @classmethod
    def of(cls, status: int, data: Any) -> Response:
        """An answer with ``data`` as its JSON body (what a fake service usually sends)."""
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))


class Transport(Protocol):
    """Carries a :class:`Request` to the service and brings back its :class:`Response`."""

    def handle(self, request: Request) -> Response:
        """Send ``request``; raise ``OSError`` if nothing answered."""
        ...

    def close(self) -> None: ...


class HTTPTransport:
    """Requests over HTTP(S) on one kept-alive connection; thread-safe (one request at a time).

    A kept-alive connection the server has closed meanwhile is reopened and the request sent
    once more; any other failure is raised at once (as ``OSError``).
    """

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._origin: tuple[str, str, int | None] | None = None
        self._lock = threading.Lock()

    def _connect(self, parts: urllib.parse.SplitResult) -> http.client.HTTPConnection:
        origin = (parts.scheme, parts.hostname or "", parts.port)
        if self._conn is not None and self._origin != origin:
            self._drop()
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(origin[1], origin[2], timeout=self.timeout)
            self._origin = origin
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def handle(self, request: Request) -> Response:
        parts = urllib.parse.urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed is retried once
                conn = self._connect(parts)
                try:
                    conn.request(
                        request.method, target, body=request.body, headers=dict(request.headers)
                    )
                    answer = conn.getresponse()
                    return Response(answer.status, answer.read(), answer.reason)
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    self._drop()
                    if attempt == 2:
                        raise
                except OSError:  # refused, timed out
                    self._drop()
                    raise
                except http.client.HTTPException as e:  # a garbled answer
                    self._drop()
                    raise ConnectionError(str(e) or type(e).__name__) from e
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            self._drop()


class MockTransport:
    """A transport that answers each request by calling ``handler(request)`` in this process.

    The handler returns a :class:`Response` (``Response.of(200, {...})``), or raises
    ``ConnectionError`` to act as a service that is down. For tests of the client and the
    outbox: pass it as ``ServiceStore(url, transport=MockTransport(handler))``.
    """

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler

    def handle(self, request: Request) -> Response:
        return self.handler(request)

    def close(self) -> None:
        pass
