"""Property-based fuzzing of every seminar wire format against real servers on loopback.

A real ``courseware seminar`` and a real ``courseware serve`` get generated websocket messages
(learner and presenter), form posts and paths. After every example an honest participant must
still get in and be answered; at the end no request got a 500, the servers' logs hold no
uncaught exception, their memory stayed bounded and they still answer.

Reproducible and bounded: a fixed number of examples, derandomized, no example database.
"""

from __future__ import annotations

import contextlib
import json
import re
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seminar_helpers import (
    CHOICE,
    OPEN,
    Client,
    huge_post,
    learner,
    presenter,
    presenter_state,
    receive,
    rss,
    start_seminar,
)

from courseware.apps._seminar_sockets import MAX_MESSAGE

from conftest import FIGURES, VoilaServer

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MEMORY_GROWTH = 80 * 1024 * 1024
"""How much a server's memory may grow over the whole fuzz run."""

SURROGATES = st.sampled_from(["\ud800", "a\udfffb", "\udbff"])
TEXT = st.one_of(st.text(max_size=300), SURROGATES, st.sampled_from(["=1+1", "safe;=1+1", ""]))
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, True, False]),
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
QUESTION = st.one_of(st.sampled_from([CHOICE.id, OPEN.id, "say-next"]), JSON, st.just("9" * 5000))


def encode(value: Any) -> str:
    return json.dumps(value)  # NaN, Infinity and lone surrogates as a browser could never send


LEARNER_MESSAGES = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("answer"), "question": QUESTION},
        optional={"choice": st.one_of(st.integers(-2, 4), JSON), "text": TEXT | JSON},
    ).map(encode),
    JSON.map(encode),
    st.text(max_size=200),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 2000).map(lambda n: '{"a":' * n + "1" + "}" * n),
)
PRESENTER_MESSAGES = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["open", "close", "approve", "reject", "withdraw", "nonsense", ""]
            )
            | JSON
        },
        optional={"question": QUESTION, "answer": TEXT | JSON},
    ).map(encode),
    st.text(max_size=200),
)
FIELD = st.sampled_from(["token", "question", "choice", "text"]) | st.text(max_size=12)
FORMS = st.dictionaries(FIELD, st.text(max_size=400) | st.just("9" * 5000), max_size=6)
PREFIXES = [
    "/",
    "/?q=",
    "/?stream=",
    "/?stage=",
    "/join",
    "/join?sent=",
    "/module/",
    "/voila/render/",
    "/voila/templates/",
    "/voila/static/",
    "/voila/tree/",
    "/voila/api/contents/",
    "/voila/api/shutdown/",
    "/api/kernels/",
    "/seminar/present/",
    "/seminar/results.csv?",
    "/courseware/static/",
    "/courseware/brand/logo",
]
PATHS = st.tuples(
    st.sampled_from(PREFIXES),
    st.text(alphabet=string.printable + "é☃\u202e", max_size=80),
).map(lambda p: p[0] + quote(p[1], safe="/?=&.%"))


@pytest.fixture(scope="module")
def seminar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    folder = tmp_path_factory.mktemp("fuzzed-seminar")
    running = start_seminar(folder, "serve: {pool_size: 1}\nseminar: {min_group: 1}\n")
    running.start_rss = rss(running)  # type: ignore[attr-defined]
    yield running
    running.stop()


@pytest.fixture(scope="module")
def board(seminar: VoilaServer) -> Iterator[websocket.WebSocket]:
    ws = presenter(seminar).socket("/seminar/ws/presenter")
    yield ws
    ws.close()


class Honest:
    """One participant who keeps answering the open question throughout."""

    def __init__(self, server: VoilaServer) -> None:
        self.server = server
        self.person = learner(server)
        self.ws = self.person.socket("/seminar/ws/learner")
        receive(self.ws, "state")
        self.choice = 0

    def still_served(self, question: str = CHOICE.id) -> None:
        self.choice = 1 - self.choice
        self.ws.send(json.dumps({"type": "answer", "question": question, "choice": self.choice}))
        reply = receive_either(self.ws)
        assert reply["type"] == "ack", reply
        assert Client(self.server.url).get("/join")[0] == 200, "a newcomer still gets in"


def receive_either(ws: websocket.WebSocket) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv())
        if message["type"] in ("ack", "error"):
            return message  # type: ignore[no-any-return]


def open_question(board: websocket.WebSocket, question: str) -> None:
    board.send(json.dumps({"type": "open", "question": question}))
    presenter_state(
        board, lambda s: s["question"] and s["question"]["id"] == question and s["accepting"]
    )


def server_errors(server: VoilaServer) -> list[str]:
    log = server.log_path.read_text("utf-8", errors="replace")
    return re.findall(r".*(?:Uncaught exception|Traceback|\b500 (?:GET|POST|PUT|DELETE)).*", log)


def test_fuzzed_learner_messages(seminar: VoilaServer, board: websocket.WebSocket) -> None:
    open_question(board, CHOICE.id)
    honest = Honest(seminar)
    hostile = learner(seminar)
    sockets: list[websocket.WebSocket] = []

    @FUZZ
    @given(LEARNER_MESSAGES)
    def attack(message: str) -> None:
        if not sockets or not sockets[0].connected:
            sockets[:] = [hostile.socket("/seminar/ws/learner")]
            receive(sockets[0], "state")
        ws = sockets[0]
        ws.send(message)
        if len(message.encode("utf-8", "surrogatepass")) > MAX_MESSAGE:
            with contextlib.suppress(websocket.WebSocketException, OSError):
                assert ws.recv() == "", "a message over the limit closes the socket"
            sockets.clear()
            honest.still_served()
            return
        reply = json.loads(ws.recv())
        assert reply["type"] in ("ack", "error", "state"), reply
        if reply["type"] == "ack":
            receive(ws, "state")
        honest.still_served()

    attack()
    for ws in (*sockets, honest.ws):
        ws.close()


def test_fuzzed_presenter_messages(seminar: VoilaServer, board: websocket.WebSocket) -> None:
    honest = Honest(seminar)

    @FUZZ
    @given(PRESENTER_MESSAGES)
    def attack(message: str) -> None:
        board.send(message)
        if not board.connected:
            raise AssertionError("the presenter's socket was dropped")

    attack()
    open_question(board, CHOICE.id)
    honest.still_served()
    honest.ws.close()


def test_fuzzed_form_posts(seminar: VoilaServer) -> None:
    honest = Honest(seminar)
    hostile = learner(seminar)
    page = hostile.get("/join")[2]
    token = re.search(rb'name="token" value="([0-9a-f]+)"', page)
    assert token
    statuses: dict[int, int] = {}

    @FUZZ
    @given(FORMS, st.booleans(), st.binary(max_size=300) | st.none())
    def attack(fields: dict[str, str], with_token: bool, raw: bytes | None) -> None:
        if with_token:
            fields = {**fields, "token": token.group(1).decode()}
        if raw is None:
            body = "&".join(
                f"{quote(k, errors='surrogatepass')}={quote(v, errors='surrogatepass')}"
                for k, v in fields.items()
            ).encode()
        else:
            body = raw
        status, _, _ = hostile.request(
            "POST", "/join", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        statuses[status] = statuses.get(status, 0) + 1
        assert status in (303, 400, 403, 409, 413), status
        honest.still_served()

    attack()
    FIGURES["seminar form fuzz statuses"] = json.dumps(dict(sorted(statuses.items())))
    honest.ws.close()


def test_fuzzed_paths_on_the_seminar_and_serve(
    seminar: VoilaServer, voila_server: VoilaServer
) -> None:
    honest = Honest(seminar)
    boss = presenter(seminar)
    served = Client(voila_server.url)
    start = rss(voila_server)

    @FUZZ
    @given(PATHS, st.sampled_from(["GET", "POST", "DELETE", "HEAD"]))
    def attack(path: str, method: str) -> None:
        for client in (boss, Client(seminar.url), served):
            status, _, _ = client.request(method, path, b"" if method == "POST" else None)
            assert status < 500, (client.url, method, path, status)
        honest.still_served()

    attack()
    honest.ws.close()
    assert served.get("/")[0] == 200
    assert rss(voila_server) - start < MEMORY_GROWTH
    assert server_errors(voila_server) == []


def test_serve_refuses_a_huge_body_unread(voila_server: VoilaServer) -> None:
    before = rss(voila_server)
    answer, refused_after, other = huge_post(voila_server, "/voila/api/shutdown/x", "/")
    assert answer.startswith(b"HTTP/1.1 400") or answer == b""
    assert refused_after < 5 and other < 1.0, (refused_after, other)
    assert rss(voila_server) - before < 30 * 1024 * 1024


def test_after_the_fuzzing_nothing_broke(seminar: VoilaServer) -> None:
    """Runs last: no 500 or uncaught exception in the log, memory bounded, still answering."""
    grown = rss(seminar) - seminar.start_rss  # type: ignore[attr-defined]
    FIGURES["seminar memory growth over the fuzz run"] = f"{grown / 2**20:.1f} MiB"
    assert grown < MEMORY_GROWTH
    assert server_errors(seminar) == []
    assert Client(seminar.url).get("/join")[0] == 200
