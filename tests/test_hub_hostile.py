"""One hostile learner hurts nobody: the courseware service on a real hub and real PostgreSQL.

Issue 16's hub defects, each as the attack that found it: events the database cannot hold
(and, through a PostgreSQL trigger, an event the service keeps failing on) sent alongside an
honest learner's saves; oversize bodies; made-up group names; NaN; a reused idempotency key;
a tutor of one course reading a learner's work in another. The hub runs no learner servers
here: learners use personal tokens, and the outbox runs in this process with one of them.

Course A (``nbgrader-coursea``): ana, ben, hal (hal is the hostile one), tutor tess.
Course B (``nbgrader-courseb``): ana and fay, tutor tina. ana is in both courses.
"""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fixtures.hub.hubtest import Hub
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courseware.hub._hubapi import HubGroups
from courseware.store import MAX_REQUEST_BYTES, MAX_VALUE_BYTES, Event, ServiceStore, event_fields

from conftest import run_coroutine

pytestmark = pytest.mark.hub

A, B = "nbgrader-coursea", "nbgrader-courseb"
GROUPS = {
    A: ["ana", "ben", "hal"],
    B: ["ana", "fay"],
    "formgrade-coursea": ["tess"],
    "formgrade-courseb": ["tina"],
    "seminar-leads-coursea": ["sam"],
}
MODULE_A, MODULE_B = "breaking-bad-news", "what-is-clinical-empathy"
POISON = "poison-7c1f"
"""A value the test database's trigger refuses: an event the service keeps failing on."""


@pytest.fixture(scope="module")
def hub(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    url = postgres.create_database("hub_hostile")
    running = Hub(
        tmp_path_factory.mktemp("hub"),
        database_url=url,
        groups=GROUPS,
        courses=["coursea", "courseb"],
        env={
            "COURSEWARE_COURSE_MODULES": f"coursea={MODULE_A} courseb={MODULE_B}",
            # hal's attacks here test what each answer says, hundreds a second: a share large
            # enough never to answer 429 (tests/test_hub_load.py runs the default share).
            "COURSEWARE_RATE_LIMIT": "2000/12000",
        },
    ).start()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN"
                f" IF NEW.value LIKE '%{POISON}%' THEN RAISE EXCEPTION 'poisoned event'; END IF;"
                " RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON events"
                " FOR EACH ROW EXECUTE FUNCTION poison()"
            )
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    found = {}
    for user in ("ana", "ben", "hal", "fay", "tess", "tina", "sam"):
        hub.ensure_user(user)
        found[user] = hub.token(user)
    return found


def event(learner: str, n: int, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "learner": learner,
        "module": MODULE_A,
        "item": f"item-{n}",
        "kind": "reflection.saved",
        "value": {"n": n} if value is None else value,
        "time": time.time(),
        **extra,
    }


def post_raw(hub: Hub, token: str, body: bytes, timeout: float = 30) -> tuple[int, Any]:
    """POST bytes as they are (escapes such as ``\\ud800`` or ``NaN`` reach the service)."""
    where = urllib.parse.urlsplit(hub.service)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)
    try:
        conn.request(
            "POST",
            f"{where.path}/api/events",
            body=body,
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode("utf-8", "replace")


def strict_json(raw: bytes) -> Any:
    """Parse as a strict client does: NaN and Infinity are errors."""

    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(raw, parse_constant=refuse)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def hostile_bodies() -> dict[str, tuple[str, str]]:
    """name -> (raw JSON body with one bad event at index 1, the field the 400 must name)."""
    good = json.dumps(event("hal", 0))[1:-1]  # the fields, to splice next to a bad one
    base = {"learner": "hal", "module": MODULE_A, "item": "x", "kind": "k", "time": 1.7e9}

    def body(bad: str) -> str:
        return f'{{"events": [{{{good}}}, {bad}]}}'

    def bad_event(**change: str) -> str:
        fields = {k: json.dumps(v) for k, v in base.items()} | {"value": "1"} | change
        return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"

    return {
        "schema 2**31": (body(bad_event(schema=str(2**31))), "events[1].schema"),
        "surrogate in value": (body(bad_event(value='"a\\ud800b"')), "events[1].value"),
        "surrogate in a key": (body(bad_event(value='{"\\udfff": 1}')), "events[1].value"),
        "surrogate in item": (body(bad_event(item='"\\ud800"')), "events[1].item"),
        "surrogate in idempotency key": (body(bad_event(key='"\\ud800"')), "events[1].key"),
        "NUL in idempotency key": (body(bad_event(key='"a\\u0000b"')), "events[1].key"),
        "integer beyond BIGINT": (body(bad_event(value=str(2**63))), "events[1].value"),
        "Infinity time": (body(bad_event(time="1e999")), "events[1].time"),
        "deep nesting": (body(bad_event(value=nested(40))), "events[1].value"),
        "value too large": (
            body(bad_event(value=json.dumps("x" * (MAX_VALUE_BYTES + 1)))),
            "events[1].value",
        ),
    }


def test_each_bad_event_is_refused_naming_its_field(hub: Hub, tokens: dict[str, str]) -> None:
    for name, (body, field) in hostile_bodies().items():
        status, answer = post_raw(hub, tokens["hal"], body.encode())
        assert status == 400, (name, status, answer)
        assert answer["message"].startswith(f"{field}:"), (name, answer)
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = json.dumps({"events": [event("hal", 1)]}).replace('"n": 1', f'"n": {constant}')
        status, answer = post_raw(hub, tokens["hal"], body.encode())
        assert status == 400 and constant in answer["message"], answer
    status, answer = post_raw(hub, tokens["hal"], nested(100_000).encode())
    assert status == 400, answer  # a body nested past the parser's depth: 400, not 500
    with psycopg.connect(hub.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE learner = 'hal'").fetchone() == (0,)


def test_hostile_learner_never_fails_an_honest_learners_saves(
    hub: Hub, tokens: dict[str, str]
) -> None:
    """hal floods the service with every bad event (and one it fails on); ben saves 120 times."""
    bodies = [body.encode() for body, _ in hostile_bodies().values()]
    poisoned = json.dumps({"events": [event("hal", n, {"text": POISON}) for n in range(3)]})
    bodies.append(poisoned.encode())
    stop = threading.Event()
    hostile_statuses: list[int] = []

    def attack() -> None:
        while not stop.is_set():
            for body in bodies:
                hostile_statuses.append(post_raw(hub, tokens["hal"], body)[0])

    attackers = [threading.Thread(target=attack) for _ in range(4)]
    for thread in attackers:
        thread.start()
    failures: list[tuple[int, Any]] = []
    honest_ids: list[int] = []

    def honest(worker: int) -> None:
        for n in range(40):
            body = {"events": [event("ben", worker * 1000 + n, {"text": f"draft {n}"})]}
            status, answer = hub.call("POST", "api/events", tokens["ben"], body)
            if status != 200:
                failures.append((status, answer))
            else:
                honest_ids.extend(answer["ids"])

    try:
        writers = [threading.Thread(target=honest, args=(w,)) for w in range(3)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
    finally:
        stop.set()
        for thread in attackers:
            thread.join()
    assert failures == [], failures[:5]
    assert len(set(honest_ids)) == 120
    assert 503 in hostile_statuses and 400 in hostile_statuses  # the attack did reach the service
    assert set(hostile_statuses) <= {400, 503}, set(hostile_statuses)  # never a 500
    with psycopg.connect(hub.database_url) as conn:
        stored = conn.execute("SELECT count(*) FROM events WHERE learner = 'ben'").fetchone()
    assert stored == (120,)


def test_responses_are_strict_json_even_for_a_legacy_nan(hub: Hub, tokens: dict[str, str]) -> None:
    """A NaN stored before the check existed comes back as null, never as bare ``NaN``."""
    with psycopg.connect(hub.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO events (learner, module, item, kind, value, time, schema)"
            " VALUES ('ben', %s, 'legacy', 'selfcheck.answer', '{\"score\": NaN}', 1.0, 1)",
            (MODULE_A,),
        )
    where = urllib.parse.urlsplit(hub.service)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    conn.request(
        "GET",
        f"{where.path}/api/events?group={A}",
        headers={"Authorization": f"token {tokens['tess']}"},
    )
    response = conn.getresponse()
    answer = strict_json(response.read())
    conn.close()
    assert response.status == 200
    legacy = [e for e in answer["events"] if e["item"] == "legacy"]
    assert legacy and legacy[0]["value"] == {"score": None}


def test_a_reused_idempotency_key_with_other_content_is_a_conflict(
    hub: Hub, tokens: dict[str, str]
) -> None:
    first = {"events": [event("ben", 1, {"text": "mine"}, key="ben-key-1")]}
    status, stored = hub.call("POST", "api/events", tokens["ben"], first)
    assert status == 200
    assert hub.call("POST", "api/events", tokens["ben"], first) == (200, stored)  # a resend
    other = {"events": [event("ben", 1, {"text": "something else"}, key="ben-key-1")]}
    status, answer = hub.call("POST", "api/events", tokens["ben"], other)
    assert status == 409 and answer["message"].startswith("events[0].key:"), answer
    with psycopg.connect(hub.database_url) as conn:
        values = conn.execute("SELECT value FROM events WHERE idem_key = 'ben-key-1'").fetchall()
    assert [json.loads(v) for (v,) in values] == [{"text": "mine"}]


def _declare(hub: Hub, token: str, length: int) -> tuple[int, Any, float]:
    """Declare a body of ``length`` bytes and wait before sending it, as a client does with
    ``Expect: 100-continue``; return (status, JSON answer, seconds)."""
    where = urllib.parse.urlsplit(hub.service)
    started = time.monotonic()
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(
            (
                f"POST {where.path}/api/events HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: token {token}\r\nContent-Type: application/json\r\n"
                f"Expect: 100-continue\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
        )
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    return response.status, json.loads(body), time.monotonic() - started


def _push(hub: Hub, token: str, size: int) -> None:
    """Send a whole oversize body regardless of the answer (a client that never listens)."""
    where = urllib.parse.urlsplit(hub.service)
    chunk = b" " * (1024 * 1024)
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(
            (
                f"POST {where.path}/api/events HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: token {token}\r\nContent-Length: {size}\r\n\r\n"
            ).encode()
        )
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        except OSError:
            return  # the service closed the connection rather than read it: as it should


def test_an_oversize_body_is_refused_unread_and_memory_stays_bounded(
    hub: Hub, tokens: dict[str, str]
) -> None:
    service = hub.service_process()
    before = service.memory_info().rss
    for length in (MAX_REQUEST_BYTES + 1, 90 * 1024 * 1024):
        status, answer, seconds = _declare(hub, tokens["hal"], length)
        assert status == 413 and "larger than" in answer["message"], answer
        assert seconds < 5
    pushers = [
        threading.Thread(target=_push, args=(hub, tokens["hal"], 90 * 2**20)) for _ in range(3)
    ]
    for thread in pushers:
        thread.start()
    for thread in pushers:
        thread.join()
    grown = service.memory_info().rss - before
    assert grown < 40 * 1024 * 1024, f"the service grew by {grown / 1e6:.0f} MB"
    assert hub.service_healthy()
    # An honest 1 MB reflection (pasted text, any Unicode) is stored whole.
    text = ("Ward round notes — patient\u2019s words: «I\u2019m frightened» 😟\n" * 20_000)[
        :1_000_000
    ]
    status, answer = hub.call(
        "POST", "api/events", tokens["ben"], {"events": [event("ben", 9, {"text": text})]}
    )
    assert status == 200, answer
    with psycopg.connect(hub.database_url) as conn:
        (value,) = conn.execute("SELECT value FROM events WHERE id = %s", answer["ids"]).fetchone()
    assert json.loads(value)["text"] == text


def test_made_up_group_names_never_reach_the_hub(hub: Hub, tokens: dict[str, str]) -> None:
    hub_log = hub.log_path.stat().st_size
    long_name = "g" * 30_000
    for name in (long_name, "a\x01b", ""):
        quoted = urllib.parse.quote(name, safe="")
        status, answer = hub.call("GET", f"api/groups/{quoted}/polls", tokens["hal"])
        assert status in (400, 404), (status, answer)
        if name:
            assert status == 400 and answer["message"].startswith("group:"), answer
    status, answer = hub.call("GET", f"api/events?group={long_name}", tokens["tess"])
    assert status == 403  # tess holds no grant on it: refused before anything else
    logged = hub.log_path.read_bytes()[hub_log:].decode(errors="replace")
    assert "/hub/api/groups/g" not in logged  # the hub was never asked
    assert long_name[:1000] not in logged  # and the service logged the path cut short


def test_group_cache_is_bounded_and_least_recently_used_goes_first(
    hub: Hub, tokens: dict[str, str]
) -> None:
    """The service's group reader against the real hub, with a cap of three groups."""
    groups = HubGroups(hub.api, hub.admin_token, max_groups=3)

    async def read(names: list[str]) -> list[frozenset[str]]:
        return [await groups.members(name) for name in names]

    found = run_coroutine(read([A, B, "formgrade-coursea", A, "formgrade-courseb"]))
    assert found[0] == frozenset(GROUPS[A]) and found[1] == frozenset(GROUPS[B])
    assert len(groups) == 3 and groups.hub_requests == 4  # A was cached when asked again
    run_coroutine(read([A, B]))  # A was used recently (kept); B was the oldest (dropped)
    assert groups.hub_requests == 5
    unknown = run_coroutine(read([f"no-such-group-{n}" for n in range(50)]))
    assert unknown == [frozenset()] * 50 and len(groups) == 3
    with pytest.raises(ValueError, match="1 to 255"):
        run_coroutine(read(["x" * 30_000]))
    assert groups.hub_requests == 55


def test_malformed_ids_filters_and_poll_texts_get_a_4xx_never_a_500(
    hub: Hub, tokens: dict[str, str]
) -> None:
    for poll_id in ("9" * 5000, str(2**64), "0"):
        for suffix in ("", "/results"):
            status, answer = hub.call("GET", f"api/polls/{poll_id}{suffix}", tokens["sam"])
            assert status == 404 and len(answer["message"]) < 300, (status, answer)
    status, answer = hub.call("GET", "api/events?learner=hal&item=" + "i" * 201, tokens["hal"])
    assert status == 400 and answer["message"].startswith("item:"), answer
    status, answer = hub.call(
        "POST", f"api/groups/{A}/polls", tokens["sam"], {"question": "Q\0?", "options": ["a", "b"]}
    )
    assert status == 400 and answer["message"].startswith("question:"), answer
    status, answer = hub.call(
        "POST", f"api/groups/{A}/polls", tokens["sam"], {"question": "Q?", "options": ["a", "b"]}
    )
    assert status == 201
    answers = f"api/polls/{answer['poll']['id']}/answers"
    status, answer = hub.call("POST", answers, tokens["hal"], {"choice": 0, "key": "a\0b"})
    assert status == 400 and answer["message"].startswith("key:"), answer
    assert hub.call("POST", answers, tokens["ben"], {"choice": 1, "key": "ben-poll"})[0] == 200
    status, answer = hub.call("POST", answers, tokens["ben"], {"choice": 0, "key": "ben-poll"})
    assert status == 409 and answer["message"].startswith("key:"), answer


def test_tutor_reads_only_their_own_courses_work(hub: Hub, tokens: dict[str, str]) -> None:
    for module, text in ((MODULE_A, "for course A"), (MODULE_B, "for course B")):
        body = {
            "events": [
                {**event("ana", 1, {"text": text}), "module": module, "kind": "selfcheck.answer"}
            ]
        }
        assert hub.call("POST", "api/events", tokens["ana"], body)[0] == 200

    def modules_seen(token: str, query: str) -> set[str]:
        status, answer = hub.call("GET", f"api/events?{query}", token)
        assert status == 200, answer
        return {e["module"] for e in answer["events"] if e["learner"] == "ana"}

    assert modules_seen(tokens["tess"], "learner=ana") == {MODULE_A}
    assert modules_seen(tokens["tess"], f"group={A}") == {MODULE_A}
    assert modules_seen(tokens["tina"], "learner=ana") == {MODULE_B}
    assert modules_seen(tokens["tina"], f"group={B}") == {MODULE_B}
    assert hub.call("GET", f"api/events?group={B}", tokens["tess"])[0] == 403
    latest = f"learner=ana&module={MODULE_B}&item=item-1&kind=selfcheck.answer"
    assert hub.call("GET", f"api/events/latest?{latest}", tokens["tess"]) == (200, {"event": None})
    status, answer = hub.call("GET", f"api/events/latest?{latest}", tokens["tina"])
    assert status == 200 and answer["event"]["value"] == {"text": "for course B"}
    assert modules_seen(tokens["ana"], "learner=ana") == {MODULE_A, MODULE_B}  # her own: all


def test_outbox_sets_aside_an_event_the_service_keeps_failing_on(
    hub: Hub, tokens: dict[str, str], tmp_path: Path
) -> None:
    """Nothing behind the stuck event waits: the batch is split, the culprit kept locally."""
    store = ServiceStore(
        f"courseware+{hub.service}/",
        token=tokens["fay"],
        user="fay",
        outbox=tmp_path / "outbox.sqlite",
        wait=0,
        retry=0.2,
        max_retry=0.4,
    )
    try:
        for n in range(12):
            value = {"text": POISON if n == 5 else f"save {n}"}
            store.append(Event("fay", MODULE_B, f"r{n}", "reflection.saved", value))
            if n == 8:  # one the service refuses outright (4xx): poll answers have their own route
                store.append(Event("fay", "polls", "1", "poll.answer", {"choice": 0}))
        deadline = time.monotonic() + 60
        while store.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert store.pending() == 0
        assert store.set_aside() == 2
        note = store.delivery_note()
        assert note is not None and "2 saves could not be sent" in note and "kept" in note
    finally:
        store.close()
    with psycopg.connect(hub.database_url) as conn:
        stored = conn.execute(
            "SELECT item FROM events WHERE learner = 'fay' AND kind = 'reflection.saved'"
            " ORDER BY id"
        ).fetchall()
    assert [item for (item,) in stored] == [f"r{n}" for n in range(12) if n != 5]
    with sqlite3.connect(tmp_path / "outbox.sqlite") as kept:  # the culprit is still there
        refused = kept.execute(
            "SELECT kind, value, failed FROM outbox WHERE failed IS NOT NULL ORDER BY seq"
        ).fetchall()
    assert [kind for kind, _, _ in refused] == ["reflection.saved", "poll.answer"]
    assert POISON in refused[0][1] and "failed on this event" in refused[0][2]
    assert refused[1][2].startswith("400: events[0].kind: poll answers go to")


TEXTS = st.text(max_size=8) | st.sampled_from(["\ud800", "a\udfffb", "\0", "é😀", "x" * 201])
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | TEXTS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXTS, children, max_size=3),
    max_leaves=12,
)
WIRE_EVENTS = st.fixed_dictionaries(
    {
        "learner": st.just("hal"),
        "module": TEXTS,
        "item": TEXTS,
        "kind": TEXTS.filter(lambda k: not k.startswith("poll.")),
        "value": JSON_VALUES,
        "time": st.floats() | st.integers(min_value=-(2**40), max_value=2**40),
        "schema": st.integers(min_value=-(2**33), max_value=2**33),
        "key": st.sampled_from([None, "fresh", "", "\ud800", "a\0b", "k" * 101]),
    }
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wire=WIRE_EVENTS)
def test_service_and_outbox_agree_on_every_event(
    hub: Hub, tokens: dict[str, str], wire: dict[str, Any]
) -> None:
    """Property: whatever an event holds, the service answers 200 or 400 (never 5xx), exactly
    when the outbox's own check accepts or refuses it, with the same message; what it accepts
    it stores as sent."""
    if wire["key"] == "fresh":
        wire["key"] = uuid.uuid4().hex
    try:
        expected = event_fields(wire, "events[0]")
    except ValueError as refused:
        expected, message = None, str(refused)
    body = json.dumps({"events": [wire]}).encode()  # ASCII escapes carry surrogates and NaN
    status, answer = post_raw(hub, tokens["hal"], body)
    try:
        json.dumps(wire, allow_nan=False)
    except ValueError:  # NaN or Infinity: the service's parser refuses the body itself
        assert status == 400 and "is not a JSON number" in answer["message"], answer
        return
    if expected is None:
        assert (status, answer["message"]) == (400, message)
        return
    assert status == 200, f"the outbox accepts what the service refuses: {answer}"
    with psycopg.connect(hub.database_url) as conn:
        (value,) = conn.execute("SELECT value FROM events WHERE id = %s", answer["ids"]).fetchone()
    assert json.loads(value) == json.loads(expected["value_json"])
