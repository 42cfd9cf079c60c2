"""A small client for ``courseware seminar`` (plain HTTP and websockets, as one browser), shared by
the hostile-input and fuzz tests."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psutil
import websocket

from courseware.apps import seminar_questions
from courseware.content import find_modules, load_module

from conftest import MODULES, VoilaServer

MODULE = load_module(find_modules(MODULES)[0])
QUESTIONS = seminar_questions(MODULE)
CHOICE = next(q for q in QUESTIONS if q.kind == "choice")
OPEN = next(q for q in QUESTIONS if q.id == "say-next")


class Client:
    """Plain HTTP and websockets to one server, as one browser (its own cookies)."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None) -> None:
        self.url = url
        where = urlsplit(url)
        self.host, self.port = where.hostname or "127.0.0.1", where.port or 80
        self.cookies = dict(cookies or {})

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";")[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def socket(self, path: str) -> websocket.WebSocket:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return websocket.create_connection(
            f"ws://{self.host}:{self.port}{path}",
            cookie=cookie or None,
            origin=f"http://{self.host}:{self.port}",
            timeout=20,
        )


def receive(ws: websocket.WebSocket, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (skipping state pushes)."""
    while True:
        message = json.loads(ws.recv())
        if message.get("type") == kind:
            return message  # type: ignore[no-any-return]


def learner(server: VoilaServer) -> Client:
    """A browser that has loaded the join page (and so holds a participant cookie)."""
    client = Client(server.url)
    status, _, _ = client.get("/join")
    assert status == 200 and "cw_participant" in client.cookies
    return client


def presenter(server: VoilaServer) -> Client:
    found = re.findall(r"token=(\S+)", server.log_path.read_text("utf-8"))
    assert found, "courseware seminar prints the presenter's link"
    return Client(server.url, {"cw_presenter": found[-1]})


def command(ws: websocket.WebSocket, message: dict[str, Any]) -> None:
    ws.send(json.dumps(message))


def presenter_state(ws: websocket.WebSocket, until: Any = None) -> dict[str, Any]:
    """The presenter's next full state (for which ``until(state)`` holds, if given)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        message = json.loads(ws.recv())
        if message.get("type") == "state" and (until is None or until(message)):
            return message  # type: ignore[no-any-return]
    raise AssertionError("the presenter's page never got the expected state")


def rss(server: VoilaServer) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


def start_seminar(folder: Path, config: str, store: Path | None = None) -> VoilaServer:
    (folder / "courseware.yaml").write_text(config, encoding="utf-8")
    return VoilaServer(
        MODULES,
        store or folder / "responses.sqlite",
        command=[
            "seminar",
            MODULE.id,
            "--root",
            str(MODULES),
            "--config",
            str(folder / "courseware.yaml"),
        ],
    )


def huge_post(server: VoilaServer, path: str, probe: str) -> tuple[bytes, float, float]:
    """POST 90 MB to ``path`` while another client keeps loading ``probe``: the server's first
    answer, how long until it refused, and the other client's slowest answer meanwhile."""
    size = 90 * 1024 * 1024
    slowest = [0.0]
    sending = threading.Event()
    sending.set()

    def other_client() -> None:
        while sending.is_set():
            begun = time.monotonic()
            assert Client(server.url).get(probe)[0] < 500
            slowest[0] = max(slowest[0], time.monotonic() - begun)

    watcher = threading.Thread(target=other_client)
    watcher.start()
    answer = b""
    with socket.create_connection(("127.0.0.1", int(server.port)), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode()
        )
        started = time.monotonic()
        chunk = b"a" * 65536
        with contextlib.suppress(OSError):  # the server closes without reading the rest
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        sock.settimeout(5)
        with contextlib.suppress(OSError):
            answer = sock.recv(4096)
        refused_after = time.monotonic() - started
    time.sleep(0.3)
    sending.clear()
    watcher.join()
    return answer, refused_after, slowest[0]
