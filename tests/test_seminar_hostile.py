"""A seminar under attack, for real: ``courseware seminar`` on loopback, driven over HTTP and
websockets by hostile and honest clients at once (issue 16, defects 3, 4, 5, 10 and 11).

Each test names what it broke before: a flood of page loads filling the room and the full page
crashing, an invalid-Unicode answer breaking the CSV, results lost with the process, a 90 MB form
or a 10 MiB websocket frame read into memory, Voila's routes open to learners.
"""

from __future__ import annotations

import csv
import http.client
import io
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
from seminar_helpers import (
    CHOICE,
    MODULE,
    OPEN,
    Client,
    command,
    huge_post,
    learner,
    presenter,
    presenter_state,
    receive,
    rss,
    start_seminar,
)

from conftest import MODULES, VoilaServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    folder = tmp_path_factory.mktemp("hostile-seminar")
    running = start_seminar(
        folder, "serve: {pool_size: 1}\nseminar: {min_group: 1, max_people: 4}\n"
    )
    yield running
    running.stop()


# -- defect 4: Unicode, withdrawal -----------------------------------------------------------


def test_invalid_unicode_is_refused_and_the_export_and_join_page_keep_working(
    server: VoilaServer,
) -> None:
    board = presenter(server).socket("/seminar/ws/presenter")
    command(board, {"type": "open", "question": OPEN.id})
    presenter_state(board, lambda s: s["question"] and s["question"]["id"] == OPEN.id)
    person = learner(server)
    ws = person.socket("/seminar/ws/learner")
    receive(ws, "state")
    # a lone surrogate, as a browser's JSON.stringify would send it
    ws.send('{"type": "answer", "question": "say-next", "text": "hello \\ud800 there"}')
    assert "message.text: is not valid Unicode" in receive(ws, "error")["message"]
    # the form refuses bytes that are not UTF-8 (an encoded surrogate) with 400
    token = re.search(rb'name="token" value="([0-9a-f]+)"', person.get("/join")[2])
    assert token
    bad = b"token=" + token.group(1) + b"&question=say-next&text=%ED%A0%80"
    status, _, _ = person.request(
        "POST", "/join", bad, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 400
    command(ws, {"type": "answer", "question": OPEN.id, "text": "safe;=1+1 \U0001f469\u200d"})
    assert receive(ws, "ack")["question"] == OPEN.id
    state = presenter_state(board, lambda s: s["queue"])
    (waiting,) = [a for a in state["queue"] if a["text"].startswith("safe;")]
    command(board, {"type": "approve", "answer": waiting["id"]})
    presenter_state(board, lambda s: waiting["id"] in (s["withdraw"] or []))
    status, _headers, body = presenter(server).get("/seminar/results.csv")
    assert status == 200
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert [r[8] for r in rows if r[5].startswith("safe;")] == ["approved by the presenter"]
    assert [r[5] for r in rows if r[5].startswith("safe;")] == ["safe;'=1+1 \U0001f469\u200d"]
    assert person.get("/join")[0] == 200
    # the presenter withdraws the approval: off the screen and out of the export
    command(board, {"type": "withdraw", "answer": waiting["id"]})
    presenter_state(board, lambda s: waiting["id"] in [a["id"] for a in s["queue"]])
    assert b"safe;" not in presenter(server).get("/seminar/results.csv")[2]
    ws.close()
    board.close()


def test_results_survive_killing_the_server(tmp_path: Path) -> None:
    config = "serve: {pool_size: 1}\nseminar: {min_group: 1}\n"
    first = start_seminar(tmp_path, config)
    try:
        board = presenter(first).socket("/seminar/ws/presenter")
        command(board, {"type": "open", "question": CHOICE.id})
        people = [learner(first) for _ in range(2)]
        for person, option in zip(people, (0, 1), strict=True):
            ws = person.socket("/seminar/ws/learner")
            receive(ws, "state")
            command(ws, {"type": "answer", "question": CHOICE.id, "choice": option})
            receive(ws, "ack")
            ws.close()
        command(board, {"type": "reset"})
        command(board, {"type": "open", "question": OPEN.id})
        ws = people[0].socket("/seminar/ws/learner")
        receive(ws, "state")
        command(ws, {"type": "answer", "question": OPEN.id, "text": "That sounds frightening."})
        receive(ws, "ack")
        (waiting,) = presenter_state(board, lambda s: s["queue"])["queue"]
        command(board, {"type": "approve", "answer": waiting["id"]})
        presenter_state(board, lambda s: s["withdraw"])
        stale = learner(first)  # loaded the page (no JavaScript), answers after the crash
        stale_token = re.search(rb'name="token" value="([0-9a-f]+)"', stale.get("/join")[2])
        assert stale_token
        before = presenter(first).get("/seminar/results.csv")[2]
        assert before.count(b"\n") == 1 + len(CHOICE.options) + 2
        board.close()
    finally:
        first.process.send_signal(signal.SIGKILL)  # a crash: no chance to save anything
        first.process.wait()
        first.log.close()
    second = start_seminar(tmp_path, config, store=first.store_path)
    try:
        after = presenter(second).get("/seminar/results.csv")[2]
        assert after == before and b"That sounds frightening." in after
        board = presenter(second).socket("/seminar/ws/presenter")
        state = presenter_state(board)
        assert (state["round"], state["question"]["id"], state["accepting"]) == (2, OPEN.id, True)
        assert state["results"]["approved"] == ["That sounds frightening."]
        # a page loaded before the crash posts its answer: nothing typed is lost
        stale = Client(second.url, stale.cookies)
        old_cookie = stale.cookies["cw_participant"]
        typed = "Words typed before the restart <b>"
        status, _, body = stale.post_form(
            "/join",
            {"token": stale_token.group(1).decode(), "question": OPEN.id, "text": typed},
        )
        assert status == 409 and b"The seminar restarted" in body
        assert b'value="Words typed before the restart &lt;b&gt;"' in body
        assert stale.cookies["cw_participant"] != old_cookie
        fresh_token = re.search(rb'name="token" value="([0-9a-f]+)"', body)
        assert fresh_token
        status, _, _ = stale.post_form(
            "/join", {"token": fresh_token.group(1).decode(), "question": OPEN.id, "text": typed}
        )
        assert status == 303
        # the learner who answered keeps their identity and sees their own answer
        ws = Client(second.url, people[0].cookies).socket("/seminar/ws/learner")
        assert receive(ws, "state")["yours"] == {"text": "That sounds frightening."}
        ws.close()
        board.close()
    finally:
        second.stop()


# -- defect 5: sizes -------------------------------------------------------------------------


def test_a_huge_form_is_refused_unread_and_nobody_waits(server: VoilaServer) -> None:
    before = rss(server)
    answer, refused_after, other = huge_post(server, "/join", "/join")
    assert answer.startswith(b"HTTP/1.1 400") or answer == b""
    assert refused_after < 5 and other < 1.0, (refused_after, other)
    assert rss(server) - before < 30 * 1024 * 1024, "the body was not read into memory"
    # a form over the join page's own limit (but under the server's) gets 413 with a reason
    person = learner(server)
    status, _, _body = person.post_form("/join", {"token": "x", "text": "x" * 100_000})
    assert status == 413


def test_a_huge_websocket_frame_is_refused_from_its_header(server: VoilaServer) -> None:
    person = learner(server)
    ws = person.socket("/seminar/ws/learner")
    receive(ws, "state")
    before = rss(server)
    started = time.monotonic()
    # a text frame announcing 10 MiB: the server closes (1009) on the header, reading nothing
    header = bytes([0x81, 0x80 | 127]) + (10 * 1024 * 1024).to_bytes(8, "big") + b"mask"
    ws.sock.sendall(header + b"x" * 1024)
    frame = ws.recv_frame()
    assert frame.opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1009
    assert time.monotonic() - started < 5
    assert rss(server) - before < 20 * 1024 * 1024
    ws.close()
    # a message just under the limit that is no answer is refused politely, the socket stays
    ws = person.socket("/seminar/ws/learner")
    receive(ws, "state")
    ws.send("[" * 4000 + "]" * 4000)  # deeper than any parser should follow
    assert receive(ws, "error")["message"] == "Not understood."
    command(ws, {"type": "answer", "question": "9" * 5000, "choice": 7})
    assert receive(ws, "error")["message"] == "That question is not open for answers any more."
    ws.close()


# -- defect 10: the gate ---------------------------------------------------------------------


def test_learners_reach_nothing_but_the_join_page(server: VoilaServer) -> None:
    boss = presenter(server)
    module_page = "/voila/render/" + MODULE.notebook.relative_to(MODULES).as_posix()
    status, _, body = boss.get(module_page)  # the presenter's module, with its kernel
    assert status == 200
    found = re.search(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", body)
    assert found, "the module page names its kernel"
    kernel = found.group().decode()
    assert boss.get(f"/api/kernels/{kernel}")[0] == 200
    person = learner(server)
    for path in (
        "/",
        "/voila/tree",
        "/voila/tree/modules",
        "/voila/api/contents",
        "/voila/api/contents/modules",
        f"/api/kernels/{kernel}",
        "/api/kernelspecs",
        "/voila/static/voila.js",
        module_page,
        "/module/" + MODULE.id,
    ):
        status, headers, body = person.get(path)
        assert status == 303 and headers["location"] == "/join", path
        assert kernel.encode() not in body
    for method in ("DELETE", "POST", "PATCH"):
        assert person.request(method, f"/api/kernels/{kernel}")[0] == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        person.socket(f"/api/kernels/{kernel}/channels")
    assert refused.value.status_code == 403
    assert boss.get(f"/api/kernels/{kernel}")[0] == 200, "the presenter's kernel still runs"
    # what the join page needs stays open
    assert person.get("/join")[0] == 200
    css = re.search(rb'href="(/courseware/static/courseware.css[^"]*)"', person.get("/join")[2])
    assert css and person.get(css.group(1).decode())[0] == 200


def test_no_page_loads_anything_from_elsewhere(server: VoilaServer) -> None:
    boss = presenter(server)
    status, headers, _ = boss.get("/voila/tree")
    assert status == 302 and headers["location"] == "/"
    for path in ("/", "/voila/render/no-such.ipynb", "/voila/tree/x", "/join"):
        status, _, body = boss.get(path)
        assert status < 500, path
        assert not re.search(rb"""(src|href)=["']?(https?:)?//""", body), path
    status, headers, _ = boss.get("/")
    assert status == 200
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "SAMEORIGIN"


# -- defect 11: bad inputs -------------------------------------------------------------------


def test_bad_inputs_get_a_client_error_not_a_crash(server: VoilaServer) -> None:
    boss = presenter(server)
    for path in (
        "/voila/templates/x",
        "/voila/templates/../../etc/passwd",
        "/module/" + "9" * 5000,
    ):
        assert 400 <= boss.get(path)[0] < 500, path
    person = learner(server)
    page = person.get("/join")[2]
    token = re.search(rb'name="token" value="([0-9a-f]+)"', page)
    assert token
    for fields in (
        {"question": "9" * 5000, "choice": "9" * 5000},
        {"question": CHOICE.id, "choice": "1e999"},
        {"question": OPEN.id, "text": "[" * 3000},
        {"question": "", "choice": "-0"},
    ):
        status, _, _ = person.post_form("/join", {"token": token.group(1).decode(), **fields})
        assert status == 400, fields
    assert person.post_form("/join", {"token": "\x80"})[0] == 403  # not a 500 from hmac
    assert "Uncaught exception" not in server.log_path.read_text("utf-8")


# -- defect 3: places (last: the people it lets in keep their places a while) ----------------


def test_a_flood_of_page_loads_cannot_fill_the_room_and_the_full_page_renders(
    server: VoilaServer,
) -> None:
    # 3,000 page loads without a cookie (the room has 4 places): each is answered, none takes one
    connection = http.client.HTTPConnection("127.0.0.1", int(server.port), timeout=30)
    for _ in range(3000):
        connection.request("GET", "/join")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    connection.close()
    # people who connect take the places, one each however many tabs they open
    inside: list[tuple[Client, websocket.WebSocket]] = []
    status = 200
    for _ in range(10):
        person = Client(server.url)
        status = person.get("/join")[0]
        if status != 200:
            break
        ws = person.socket("/seminar/ws/learner")
        receive(ws, "state")
        inside.append((person, ws))
    assert 1 <= len(inside) <= 4 and status == 503, "newcomers got in until the room was full"
    extra_tab = inside[0][0].socket("/seminar/ws/learner")
    receive(extra_tab, "state")
    board = presenter(server).socket("/seminar/ws/presenter")
    assert presenter_state(board)["connected"] == len(inside), "people, not websockets"

    # the next person finds the room full: a proper page (503), never a crash
    newcomer = Client(server.url)
    status, headers, body = newcomer.get("/join")
    page = body.decode()
    assert status == 503 and headers["retry-after"]
    assert "<title>This seminar is full \u2013 " in page and "<h1>This seminar is full</h1>" in page
    assert "cw_participant" not in newcomer.cookies
    # ... and the people inside keep their places and their page
    assert inside[-1][0].get("/join")[0] == 200
    for _, ws in inside:
        ws.close()
    extra_tab.close()
    board.close()
