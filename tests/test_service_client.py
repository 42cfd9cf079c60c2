"""The service client and the outbox's delivery, refusal and retry, without a hub.

A :class:`~courseware.store.MockTransport` hands each request to :class:`FakeService`, a small
in-process stand-in that answers as the courseware service does (ids for stored events, a key
stored once, 4xx with a message, 5xx or no answer at all when told to). The real service is
exercised on a real JupyterHub in test_hub_service.py, test_hub_hostile.py and test_hub_fuzz.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from courseware.store import (
    Event,
    MockTransport,
    Request,
    Response,
    ServiceClient,
    ServiceRefused,
    ServiceStore,
    ServiceUnavailable,
)

URL = "http://hub.invalid:10101/services/courseware/"


class FakeService:
    """Answers like the courseware service; ``down``, ``fail`` and ``refuse`` make it misbehave."""

    def __init__(self) -> None:
        self.stored: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self.down = False
        """Nothing answers (a stopped service): the transport raises ConnectionRefusedError."""
        self.fail: Callable[[list[dict[str, Any]]], int | None] = lambda events: None
        """A status (5xx) to answer a POST of these events with, or None to store them."""
        self.refuse: Callable[[dict[str, Any]], str | None] = lambda event: None
        """A reason to refuse a batch holding this event with 400, or None."""
        self.any_request = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
            self.any_request.set()
            if self.down:
                raise ConnectionRefusedError(111, "Connection refused")
            if request.headers.get("Authorization") != "token learner-token":
                return Response.of(403, {"status": 403, "message": "not your token"})
            route = request.path.removeprefix("/services/courseware/")
            if route == "api/health":
                return Response.of(200, {"ok": True, "schema": 3})
            if route == "api/events" and request.method == "POST":
                return self.post(request.json()["events"])
            if route == "api/events":
                wanted = request.params
                found = [e for e in self.stored if all(e[k] == v for k, v in wanted.items())]
                return Response.of(200, {"events": found})
            return Response.of(404, {"status": 404, "message": f"no such endpoint: {route}"})

    def post(self, events: list[dict[str, Any]]) -> Response:
        status = self.fail(events)
        if status is not None:
            return Response(status, b"<html>Bad gateway</html>", "Bad Gateway")
        for index, event in enumerate(events):
            reason = self.refuse(event)
            if reason is not None:
                return Response.of(400, {"status": 400, "message": f"events[{index}]: {reason}"})
        ids = []
        for event in events:
            same = [s for s in self.stored if s["key"] == event["key"]]
            if not same:
                self.stored.append(event | {"id": len(self.stored) + 1})
                same = self.stored[-1:]
            ids.append(same[0]["id"])
        return Response.of(200, {"ids": ids})

    def values(self) -> list[Any]:
        return [e["value"] for e in self.stored]


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
def open_store(tmp_path: Path, service: FakeService) -> Iterator[Callable[..., ServiceStore]]:
    opened: list[ServiceStore] = []

    def make(**options: Any) -> ServiceStore:
        settings: dict[str, Any] = {
            "token": "learner-token",
            "user": "ana",
            "outbox": tmp_path / "outbox.sqlite",
            "retry": 0.02,
            "max_retry": 0.05,
            "transport": MockTransport(service),
        }
        store = ServiceStore("courseware+" + URL, **(settings | options))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def saved(value: Any, item: str = "r1") -> Event:
    return Event("ana", "mod", item, "reflection.draft", value, time.time())


def settle(store: ServiceStore, until: Callable[[], bool], seconds: float = 10.0) -> None:
    """Let the delivery thread work until ``until()`` holds (fails the test after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, (
            f"delivery did not settle: {store.pending()} pending, {store.set_aside()} set aside"
        )
        time.sleep(0.01)


# -- the client ----------------------------------------------------------------------------------
def test_client_sends_the_token_and_json_and_drops_empty_filters(service: FakeService) -> None:
    client = ServiceClient(URL, "learner-token", transport=MockTransport(service))
    service.stored.append({"learner": "ana", "module": "m", "key": "k", "id": 1})
    answer = client.request("GET", "api/events", params={"learner": "ana", "module": None})
    assert answer == {"events": [service.stored[0]]}
    sent = service.requests[-1]
    assert sent.headers["Authorization"] == "token learner-token"
    assert sent.params == {"learner": "ana"}
    assert client.request("POST", "/api/events", body={"events": []}) == {"ids": []}
    assert service.requests[-1].headers["Content-Type"] == "application/json; charset=utf-8"


def test_client_maps_answers_to_errors(service: FakeService) -> None:
    client = ServiceClient(URL, "learner-token", transport=MockTransport(service))
    with pytest.raises(ServiceRefused, match="no such endpoint: api/nothing") as refused:
        client.request("GET", "api/nothing")
    assert refused.value.status == 404
    wrong = ServiceClient(URL, "someone-else", transport=MockTransport(service))
    with pytest.raises(ServiceRefused, match="not your token"):
        wrong.request("GET", "api/health")
    service.fail = lambda events: 502
    with pytest.raises(ServiceUnavailable) as unavailable:
        client.request("POST", "api/events", body={"events": [{}]})
    assert unavailable.value.status == 502
    service.down = True
    with pytest.raises(ServiceUnavailable, match="Connection refused") as down:
        client.request("GET", "api/health")
    assert down.value.status is None


def test_client_refuses_an_answer_that_is_not_json() -> None:
    client = ServiceClient(URL, "t", transport=MockTransport(lambda r: Response(200, b"<html>")))
    with pytest.raises(ServiceRefused, match="something other than JSON"):
        client.request("GET", "api/health")


# -- delivery ------------------------------------------------------------------------------------
def test_a_save_is_delivered_and_read_back_from_the_service(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    store = open_store(wait=5.0)
    ident = store.append(saved({"text": "I noticed her hands shaking."}))
    assert ident == 1  # the service's id: delivered before append returned
    assert service.values() == [{"text": "I noticed her hands shaking."}]
    assert store.pending() == 0
    (read,) = store.events(learner="ana", module="mod")
    assert (read.id, read.value) == (1, {"text": "I noticed her hands shaking."})


def test_events_arrive_in_the_order_they_were_saved(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    store = open_store(wait=0)
    for n in range(30):
        store.append(saved({"text": f"draft {n}"}))
    assert store.flush(timeout=10)
    assert service.values() == [{"text": f"draft {n}"} for n in range(30)]


def test_a_lost_reply_is_resent_and_stored_once(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    """The service stored the batch but its reply never arrived: the resend carries the same
    idempotency key, so the event is stored once."""
    lost = []

    def lose_first_reply(request: Request) -> Response:
        answer = service(request)
        if request.method == "POST" and not lost:
            lost.append(request)
            raise ConnectionResetError(104, "Connection reset by peer")
        return answer

    store = open_store(wait=0, transport=MockTransport(lose_first_reply))
    store.append(saved({"text": "once"}))
    settle(store, lambda: store.pending() == 0)
    assert service.values() == [{"text": "once"}]
    posts = [r for r in service.requests if r.method == "POST"]
    assert len(posts) == 2
    assert posts[0].json() == posts[1].json()


# -- refusal -------------------------------------------------------------------------------------
def test_a_refused_event_is_set_aside_the_rest_delivered_and_the_learner_told(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    service.refuse = lambda event: "too odd" if event["value"] == {"text": "odd"} else None
    store = open_store(wait=0)
    service.down = True  # all three wait in the outbox, then go as one batch
    for text in ("first", "odd", "last"):
        store.append(saved({"text": text}))
    service.down = False
    assert store.flush(timeout=10)
    assert service.values() == [{"text": "first"}, {"text": "last"}]
    assert store.set_aside() == 1
    (kept,) = store.outbox.set_aside()
    assert "too odd" in kept[1]
    note = store.delivery_note()
    assert note is not None
    assert note.startswith("1 save could not be sent to the course server")
    assert str(store.outbox.path) in note and "tell your tutor" in note
    # the learner's text is kept on their computer, never deleted
    local = [e.value for _, e in store.outbox.events(pending_only=False, learner="ana")]
    assert {"text": "odd"} in local


def test_a_refused_token_keeps_the_event_queued_not_set_aside(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    """403 is about the token, not the event: it waits for a working token, never set aside."""
    store = open_store(wait=0, token="expired-token")
    store.append(saved({"text": "keep me"}))
    assert service.any_request.wait(5)
    with pytest.raises(ServiceRefused, match="not your token"):
        store.flush(timeout=0.5)
    assert (store.pending(), store.set_aside(), store.delivery_note()) == (1, 0, None)
    assert service.stored == []


# -- retry ---------------------------------------------------------------------------------------
def test_server_errors_are_retried_until_the_service_recovers(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    failures = iter([503, 500])
    service.fail = lambda events: next(failures, None)
    store = open_store(wait=0)
    ident = store.append(saved({"text": "after two 5xx"}))
    assert ident < 0  # still queued when append returned
    settle(store, lambda: store.pending() == 0)
    assert service.values() == [{"text": "after two 5xx"}]
    assert len([r for r in service.requests if r.method == "POST"]) == 3
    assert store.set_aside() == 0


def test_a_service_that_is_down_keeps_saves_local_and_readable_then_delivers_them(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    service.down = True
    store = open_store(wait=0.2)
    first = store.append(saved({"text": "one"}))
    second = store.append(saved({"text": "two"}, item="r2"))
    assert first < 0 and second < 0  # queued, with minus their outbox numbers
    assert store.pending() == 2
    # the learner's own work is read from the outbox while the service is away
    assert [e.value for e in store.events(learner="ana")] == [{"text": "one"}, {"text": "two"}]
    latest = store.latest(learner="ana", module="mod", item="r2", kind="reflection.draft")
    assert latest is not None and latest.value == {"text": "two"}
    with pytest.raises(ServiceUnavailable, match="only your own saved work"):
        store.events(learner="ben")
    service.down = False
    settle(store, lambda: store.pending() == 0)
    assert service.values() == [{"text": "one"}, {"text": "two"}]
    assert [e.id for e in store.events(learner="ana")] == [1, 2]


def test_an_event_the_service_keeps_failing_on_is_set_aside_alone(
    open_store: Callable[..., ServiceStore], service: FakeService
) -> None:
    """A batch that gets 5xx again and again is split to find the event at fault; that one is
    kept locally (set aside) once the service, still healthy, fails on it alone twice."""
    poison = {"text": "the service chokes on this"}
    service.fail = lambda events: 500 if any(e["value"] == poison for e in events) else None
    store = open_store(wait=0)
    service.down = True
    for value in ({"text": "a"}, poison, {"text": "b"}, {"text": "c"}):
        store.append(saved(value))
    service.down = False
    settle(store, lambda: store.pending() == 0 and store.set_aside() == 1)
    assert service.values() == [{"text": "a"}, {"text": "b"}, {"text": "c"}]
    (kept,) = store.outbox.set_aside()
    assert "failed on this event repeatedly" in kept[1]
