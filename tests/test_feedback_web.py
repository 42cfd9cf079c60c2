"""The reply coder's endpoint and the kernel's client, over real HTTP, with the real installed model.

A tornado server on loopback mounts the same handler ``courseware serve`` and JupyterLab mount;
the client is the one a learner's kernel uses. Nothing stands in for the coder: "unavailable" is
the real coder pointed at a folder with no model in it, "down" is a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import TOKEN, CoderServer

from courseware.feedback import Coding, code
from courseware.feedback._client import (
    UNAVAILABLE_MESSAGE,
    FeedbackUnavailable,
    coder_endpoint,
    request_coding,
)
from courseware.feedback._web import (
    MAX_REPLY,
    CoderBusy,
    CoderHost,
    advertise,
    parse_request,
)

from conftest import free_port, run_coroutine

STATEMENT = "I keep thinking the lump is cancer and nobody will tell me anything."


def post(url: str, body: bytes, token: str | None = TOKEN) -> tuple[int, dict[str, Any], Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"token {token}"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


def ask(statement: str, reply: str) -> bytes:
    return json.dumps({"statement": statement, "reply": reply}).encode()


@pytest.fixture(scope="module")
def real_host() -> Iterator[CoderHost]:
    host = CoderHost()  # the installed model, loaded on first use
    yield host
    host.close()


@pytest.fixture(scope="module")
def server(real_host: CoderHost) -> Iterator[CoderServer]:
    s = CoderServer(real_host)
    yield s
    s.close()


def test_codes_a_reply_with_evidence_from_the_reply(server: CoderServer) -> None:
    reply = "Don't worry, I'm sure it's nothing. Anyway, can I check your blood pressure?"
    status, answer, _ = post(server.url, ask(STATEMENT, reply))
    assert status == 200, answer
    coding = Coding.from_dict(answer)
    assert answer["schema"] == 1 and coding.model_version
    assert "reassurance" in coding.names()
    assert coding.provides_space is False
    for result in coding.codes:
        assert result.evidence, result
        for e in result.evidence:
            assert reply[e.start : e.end] == e.text


def test_any_unicode_is_coded_with_offsets_into_the_text(server: CoderServer) -> None:
    reply = "😟 Ça va? Dw 🙏🏽 — you sound really frightened. مرحبا. What's worrying you most?"
    status, answer, _ = post(server.url, ask("Rwy'n ofnus iawn 😢", reply))
    assert status == 200, answer
    coding = Coding.from_dict(answer)
    assert {"naming", "exploring"} <= set(coding.names())
    for result in (*coding.codes, *coding.unsure):
        for e in result.evidence:
            assert reply[e.start : e.end] == e.text


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe{}", 400, "not valid UTF-8"),
        (b'["a list"]', 400, "JSON object"),
        (b'{"statement": "hi"}', 400, "reply: must be a string"),
        (b'{"statement": 3, "reply": "x"}', 400, "statement: must be a string"),
        (b'{"statement": "hi", "reply": "   "}', 400, "reply: is empty"),
        (b'{"statement": "hi", "reply": "a \\ud800 b"}', 400, "unpaired surrogate"),
        (ask("hi", "x" * (MAX_REPLY + 1)), 413, "longer than 50,000"),
        (ask("x" * 300_000, "hello"), 413, "larger than 256 KB"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(
    server: CoderServer, body: bytes, status: int, words: str
) -> None:
    got, answer, _ = post(server.url, body)
    assert got == status and words in answer["message"], answer


def test_a_reply_of_exactly_the_limit_is_coded(server: CoderServer) -> None:
    reply = ("I can see how worried you are. " * 2000)[:MAX_REPLY]
    status, answer, _ = post(server.url, ask(STATEMENT, reply))
    assert status == 200, answer


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_callers_without_the_servers_token_are_refused(server: CoderServer, token: Any) -> None:
    status, answer, _ = post(server.url, ask(STATEMENT, "Tell me more."), token=token)
    assert status == 403 and "codes" not in answer


def test_overload_is_503_with_retry_after(real_host: CoderHost) -> None:
    full = CoderServer(CoderHost(max_queue=0))  # every request finds the queue full
    try:
        status, answer, headers = post(full.url, ask(STATEMENT, "Tell me more."))
    finally:
        full.close()
    assert status == 503 and "busy" in answer["message"]
    assert int(headers["Retry-After"]) > 0


def test_the_queue_is_bounded_and_one_worker_codes(real_host: CoderHost) -> None:
    host = CoderHost(max_queue=2)

    async def burst() -> list[Any]:
        jobs = [host.code(STATEMENT, f"Tell me more, please ({i}).") for i in range(6)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = run_coroutine(burst())
        busy = [r for r in results if isinstance(r, CoderBusy)]
        coded = [r for r in results if isinstance(r, dict)]
        assert len(coded) == 2 and len(busy) == 4
        assert all(Coding.from_dict(c).model_version for c in coded)
        # once the burst is over, requests are taken again
        assert "codes" in run_coroutine(host.code(STATEMENT, "What worries you most?"))
    finally:
        host.close()


def test_missing_model_is_503_unavailable(tmp_path: Path) -> None:
    from courseware.feedback import load_coder

    host = CoderHost(lambda: load_coder(model_dir=tmp_path / "no-model"))
    down = CoderServer(host)
    try:
        for _ in range(2):  # said once in the log, then every request answered at once
            status, answer, _ = post(down.url, ask(STATEMENT, "Tell me more."))
            assert (status, answer["message"]) == (503, "automatic feedback is unavailable")
        with pytest.raises(FeedbackUnavailable, match="automatic feedback is unavailable"):
            request_coding(STATEMENT, "Tell me more.", environ=down.env())
    finally:
        down.close()
        host.close()


def test_client_codes_through_the_server(server: CoderServer) -> None:
    reply = "You sound frightened. What's worrying you most?"
    coding = request_coding(STATEMENT, reply, environ=server.env())
    assert "naming" in coding.names()
    assert coding.to_dict() == code(STATEMENT, reply).to_dict()  # the coder's own coding, intact


def test_client_says_unavailable_quickly_when_the_coder_is_down() -> None:
    env = {"COURSEWARE_CODER_URL": f"http://127.0.0.1:{free_port()}/api/feedback/code"}
    started = time.monotonic()
    with pytest.raises(FeedbackUnavailable):
        request_coding(STATEMENT, "Tell me more.", environ=env)
    assert time.monotonic() - started < 3.5
    with pytest.raises(FeedbackUnavailable, match="no server"):
        request_coding(STATEMENT, "Tell me more.", environ={})
    assert "unavailable right now" in UNAVAILABLE_MESSAGE


def test_client_times_out_on_a_server_that_never_answers() -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {"COURSEWARE_CODER_URL": f"http://127.0.0.1:{silent.getsockname()[1]}/x"}
        started = time.monotonic()
        with pytest.raises(FeedbackUnavailable):
            request_coding(STATEMENT, "Tell me more.", environ=env, timeout=1.0)
        assert time.monotonic() - started < 2.5


def test_kernels_find_the_hub_service_from_the_store_setting() -> None:
    env = {
        "COURSEWARE_STORE": "courseware+http://127.0.0.1:8081/services/courseware/",
        "JUPYTERHUB_API_TOKEN": "abc",
    }
    assert coder_endpoint(env) == (
        "http://127.0.0.1:8081/services/courseware/api/feedback/code",
        "abc",
    )
    assert coder_endpoint({**env, "COURSEWARE_CODER_URL": "http://x/y"}) == ("http://x/y", "")
    assert coder_endpoint({"COURSEWARE_STORE": "/tmp/responses.sqlite"}) is None


def test_advertise_never_overrides_someone_elses_coder() -> None:
    env: dict[str, str] = {}
    token = advertise("http://127.0.0.1:1/a", environ=env)
    assert token and env["COURSEWARE_CODER_TOKEN"] == token
    again = advertise("http://127.0.0.1:2/a", environ=env)  # ours: a later server replaces it
    assert again and env["COURSEWARE_CODER_URL"] == "http://127.0.0.1:2/a"
    theirs = {"COURSEWARE_CODER_URL": "http://hub/services/courseware/api/feedback/code"}
    assert advertise("http://127.0.0.1:3/a", environ=theirs) is None
    assert theirs["COURSEWARE_CODER_URL"].startswith("http://hub/")


def test_a_server_inside_a_hub_learners_server_leaves_the_coder_to_the_service() -> None:
    """`courseware serve` run by jupyter-server-proxy in a learner's server on JupyterHub must not
    load a model per learner: its kernels use the courseware service's one coder."""
    hub = {
        "COURSEWARE_STORE": "courseware+http://127.0.0.1:10101/services/courseware/",
        "JUPYTERHUB_API_TOKEN": "learner-token",
    }
    assert (
        advertise("http://127.0.0.1:4/user/ann/courseware/api/feedback/code", environ=hub) is None
    )
    assert "COURSEWARE_CODER_URL" not in hub
    assert coder_endpoint(hub) == (
        "http://127.0.0.1:10101/services/courseware/api/feedback/code",
        "learner-token",
    )


def test_parse_request_keeps_text_exactly() -> None:
    hostile = '<script>alert(1)</script> =HYPERLINK("x") \u202e\U0001f600'
    assert parse_request(ask("s", hostile)) == ("s", hostile)


def test_a_page_with_a_writing_exercise_warms_the_coder_first() -> None:
    host = CoderHost()
    warm = CoderServer(host)
    try:
        request = urllib.request.Request(warm.url, headers={"Authorization": f"token {TOKEN}"})
        states = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with urllib.request.urlopen(request, timeout=10) as response:
                states.append(json.loads(response.read())["coder"])
            if states[-1] == "ready":
                break
            time.sleep(0.2)
        assert states[0] == "loading" and states[-1] == "ready", states
        assert host.version  # loaded once, before any reply came
        refused = urllib.request.Request(warm.url)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(refused, timeout=10)
        assert caught.value.code == 403
    finally:
        warm.close()
        host.close()


def test_client_does_not_send_what_the_server_would_refuse(server: CoderServer) -> None:
    with pytest.raises(FeedbackUnavailable, match="longer than 50,000"):
        request_coding(STATEMENT, "x" * (MAX_REPLY + 1), environ=server.env())
