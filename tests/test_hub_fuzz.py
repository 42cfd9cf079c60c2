"""Property-based fuzzing of the courseware service's wire formats, on the real service.

A real JupyterHub (configurable-http-proxy) runs the courseware service on real PostgreSQL.
Hypothesis generates event batches, raw bodies, group names, poll ids, query filters and poll
bodies; a hostile learner (``hal``), a tutor (``tess``) and a seminar lead (``sam``) send them.
Meanwhile an honest learner (``ben``) keeps saving from another thread. The properties:

* no 500: every answer is 2xx or a 4xx whose JSON (or, for a browser, HTML) gives a reason;
* a refused request stores nothing (a batch is stored whole or not at all);
* what is accepted is stored exactly as sent, and 200 answers are strict JSON;
* no other user is affected: every one of ``ben``'s saves succeeds and reads back intact;
* memory stays bounded and the service still answers (the last test).

The learner's side is fuzzed too: ``ServiceStore.append`` either refuses an event at once,
naming the field, or the service stores it; nothing it accepts is ever set aside or blocks the
events behind it. Seeds are fixed (``derandomize``) so a run in CI is the run here.
"""

from __future__ import annotations

import json
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

from courseware.store import Event, ServiceClient, ServiceError, ServiceStore, event_fields

pytestmark = pytest.mark.hub

COURSE = "nbgrader-fuzz"
GROUPS = {
    COURSE: ["ben", "hal", "owen"],
    "formgrade-fuzz": ["tess"],
    "seminar-leads-fuzz": ["sam"],
}
MODULE = "what-is-clinical-empathy"
RSS_GROWTH_BOUND = 48 * 2**20
"""How much the service's memory may grow over the whole fuzz run."""

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def hub(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    running = Hub(
        tmp_path_factory.mktemp("hub"),
        database_url=postgres.create_database("hub_fuzz"),
        groups=GROUPS,
        courses=["fuzz"],
        # hal's fuzzing is hundreds of refused requests a second: each answer is under test
        # here, so a share that never answers 429 (tests/test_hub_load.py runs the default).
        env={"COURSEWARE_RATE_LIMIT": "2000/12000"},
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    found = {}
    for user in ("ben", "hal", "owen", "tess", "sam"):
        hub.ensure_user(user)
        found[user] = hub.token(user)
    return found


class Honest:
    """``ben`` saves every 20 ms from a thread while the fuzzing runs; every save must succeed."""

    def __init__(self, hub: Hub, token: str) -> None:
        self.client = ServiceClient(hub.service + "/", token)
        self.saved: dict[int, dict[str, Any]] = {}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            value = {"text": f"Ward round reflection {n}: «I\u2019m frightened» 😟", "n": n}
            event = {
                "learner": "ben",
                "module": MODULE,
                "item": f"r{n % 5}",
                "kind": "reflection.saved",
                "value": value,
                "time": time.time(),
                "key": uuid.uuid4().hex,
            }
            try:
                answer = self.client.request("POST", "api/events", body={"events": [event]})
                self.saved[answer["ids"][0]] = value
            except ServiceError as e:
                self.failures.append(f"save {n}: {e}")
            n += 1
            self._stop.wait(0.02)

    def start(self) -> Honest:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture(scope="module")
def watch(hub: Hub, tokens: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The service's memory before the fuzzing, and the honest learner saving throughout."""
    service = hub.service_process()
    for user in ("hal", "tess", "sam", "owen"):  # each token's first check with the hub
        assert hub.call("GET", "api/me", tokens[user])[0] == 200
    honest = Honest(hub, tokens["ben"]).start()
    yield {"service": service, "rss": service.memory_info().rss, "honest": honest}
    honest.stop()


def send(
    hub: Hub,
    token: str,
    method: str,
    path: str,
    body: bytes | None = None,
    accept: str = "application/json",
) -> tuple[int, bytes, str]:
    """(status, body, content type), ``path`` sent exactly as given (already quoted)."""
    import http.client

    where = urllib.parse.urlsplit(hub.service)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        headers = {"Authorization": f"token {token}", "Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, f"{where.path}/{path}", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        conn.close()


def strict_json(raw: bytes) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(raw, parse_constant=refuse)


def assert_answered(status: int, raw: bytes, kind: str = "", *, html: bool = False) -> Any:
    """No 5xx; a refusal says why (JSON ``message``, or an HTML page with a heading)."""
    assert status < 500, (status, raw[:300])
    if html and "text/html" in kind:
        assert b"<title>" in raw and (status < 400 or b"Not available" in raw), raw[:300]
        return None
    answer = strict_json(raw)
    if status >= 400:
        assert isinstance(answer, dict) and answer.get("message"), (status, answer)
        assert len(answer["message"]) < 1000, answer  # a reason, not an echo of the input
    return answer


def hal_count(hub: Hub) -> int:
    with psycopg.connect(hub.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM events WHERE learner = 'hal'").fetchone()
    assert row is not None
    return int(row[0])


# -- strategies ---------------------------------------------------------------------------------
ANY_CHAR = st.characters(exclude_categories=())  # lone surrogates, NUL, unassigned: everything
TEXT = st.text(ANY_CHAR, max_size=12) | st.sampled_from(
    ["", "\ud800", "a\udfffb", "\0", "x" * 201, "é😀", "poll.answer", "reflection.saved"]
)
NUMBERS = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 1e11, -1e11, 0.0])
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
KEYS = st.sampled_from(["k1", "k2", "k3", None, "fresh", "", "\ud800", "a\0b", "k" * 101])
GOOD = {
    "learner": st.just("hal"),
    "module": st.just(MODULE),
    "item": st.sampled_from(["q1", "q2"]),
    "kind": st.just("reflection.saved"),
    "value": st.sampled_from([{"text": "a"}, {"text": "b"}, 1, [1, 2]]),
    "time": st.just(1.7e9),
    "schema": st.just(1),
    "key": KEYS,
}


@st.composite
def wire_events(draw: Any) -> dict[str, Any]:
    """An event as a client might send it: mostly well formed, a few fields fuzzed or missing."""
    event = {name: draw(strategy) for name, strategy in GOOD.items()}
    for name in draw(st.lists(st.sampled_from([*GOOD, "extra"]), max_size=3, unique=True)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            event.pop(name, None)
        elif choice == 1 or name in ("value", "extra"):
            event[name] = draw(JSON)
        elif name in ("time", "schema"):
            event[name] = draw(NUMBERS)
        else:
            event[name] = draw(TEXT)
    if event.get("key") == "fresh":
        event["key"] = uuid.uuid4().hex
    return event


# -- the service --------------------------------------------------------------------------------
@settings(FUZZ, max_examples=250)
@given(batch=st.lists(wire_events(), min_size=1, max_size=4))
def test_event_batches_are_stored_whole_or_refused_with_a_reason(
    hub: Hub, tokens: dict[str, str], watch: dict[str, Any], batch: list[dict[str, Any]]
) -> None:
    before = hal_count(hub)
    body = json.dumps({"events": batch}).encode()  # ASCII escapes carry surrogates; NaN as is
    status, raw, _ = send(hub, tokens["hal"], "POST", "api/events", body)
    answer = assert_answered(status, raw)
    if status != 200:
        assert status in (400, 403, 409), (status, answer)
        assert hal_count(hub) == before, f"a refused batch ({status}) stored part of itself"
        return
    ids = answer["ids"]
    assert len(ids) == len(batch)
    with psycopg.connect(hub.database_url) as conn:
        rows = dict(conn.execute("SELECT id, value FROM events WHERE id = ANY(%s)", (ids,)))
    for event, stored in zip(batch, ids, strict=True):
        fields = event_fields(event, "event")  # it was accepted, so it passes the shared check
        if rows[stored] != fields["value_json"]:  # a resend: the key's first, identical, event
            assert json.loads(rows[stored]) == json.loads(fields["value_json"])


@settings(FUZZ, max_examples=120)
@given(
    body=st.binary(max_size=300)
    | st.text(ANY_CHAR, max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.integers(1, 200_000).map(lambda depth: ("[" * depth + "]" * depth).encode())
    | st.sampled_from([b"", b"null", b"[]", b"{}", b'{"events": {}}', b'{"events": [1]}'])
    | JSON.map(lambda v: json.dumps({"events": v}).encode())
)
def test_any_body_gets_an_answer_with_a_reason(
    hub: Hub, tokens: dict[str, str], watch: dict[str, Any], body: bytes
) -> None:
    before = hal_count(hub)
    status, raw, _ = send(hub, tokens["hal"], "POST", "api/events", body)
    assert_answered(status, raw)
    if status != 200:
        assert hal_count(hub) == before


def quoted(text: str) -> str:
    """``text`` percent-encoded for a path, surrogates as the bytes a careless client sends."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


NAMES = (
    st.text(ANY_CHAR, min_size=1, max_size=20)
    | st.sampled_from(["g" * 30_000, COURSE, "formgrade-fuzz", ".", "..", "%", "?x=1", "a/b"])
    | st.text(st.sampled_from("0123456789\u0663\u096f\uff10"), min_size=1, max_size=30)
    | st.integers(0, 2**70).map(str)
    | st.just("9" * 5000)
)
ROUTES = [
    ("hal", "GET", "api/groups/{}/polls"),
    ("tess", "GET", "api/groups/{}/aggregates"),
    ("tess", "GET", "cohort/{}"),
    ("hal", "GET", "api/polls/{}"),
    ("hal", "POST", "api/polls/{}/answers"),
    ("sam", "POST", "api/polls/{}/close"),
    ("sam", "GET", "api/polls/{}/results"),
    ("sam", "POST", "api/groups/{}/polls"),
]


@settings(FUZZ, max_examples=300)
@given(route=st.sampled_from(ROUTES), name=NAMES, html=st.booleans())
def test_group_names_and_poll_ids_get_an_answer_with_a_reason(
    hub: Hub,
    tokens: dict[str, str],
    watch: dict[str, Any],
    route: tuple[str, str, str],
    name: str,
    html: bool,
) -> None:
    user, method, template = route
    body = b'{"choice": 0}' if "answers" in template else None
    if template.endswith("/polls") and method == "POST":
        body = b'{"question": "What next?", "options": ["Ask", "Wait"]}'
    accept = "text/html" if html else "application/json"
    status, raw, kind = send(
        hub, tokens[user], method, template.format(quoted(name)), body, accept=accept
    )
    assert_answered(status, raw, kind, html=template.startswith("cohort"))


def test_an_unknown_path_or_a_non_ascii_poll_id_is_a_json_404(
    hub: Hub, tokens: dict[str, str], watch: dict[str, Any]
) -> None:
    """Arabic-Indic three is a digit to Python's ``int`` but names no poll."""
    made = hub.call(
        "POST",
        f"api/groups/{COURSE}/polls",
        tokens["sam"],
        {"question": "Q?", "options": ["a", "b"]},
    )
    assert made[0] == 201
    poll = str(made[1]["poll"]["id"])
    same = "".join(chr(0x0660 + int(d)) for d in poll)
    for path in (f"api/polls/{quoted(same)}", "api/nothing-here", "api/polls/1/elsewhere"):
        status, raw, _ = send(hub, tokens["hal"], "GET", path)
        answer = assert_answered(status, raw)
        assert status == 404 and answer["message"].startswith("no such endpoint"), answer


FILTERS = st.dictionaries(
    st.sampled_from(["learner", "group", "module", "item", "kind", "kind_prefix"]),
    NAMES | TEXT,
    max_size=4,
).filter(lambda f: sum(len(v) for v in f.values()) < 40_000)
"""Filters (one 30 KB name at most: tornado closes a connection whose request line passes
its 64 KB header limit before any handler runs, and the proxy in front refuses it with 431)."""


@settings(FUZZ, max_examples=200)
@given(
    user=st.sampled_from(["hal", "tess"]), latest=st.booleans(), filters=FILTERS, raw=st.booleans()
)
def test_read_filters_get_an_answer_with_a_reason(
    hub: Hub,
    tokens: dict[str, str],
    watch: dict[str, Any],
    user: str,
    latest: bool,
    filters: dict[str, str],
    raw: bool,
) -> None:
    query = "&".join(
        f"{name}={quoted(value)}"
        if raw
        else urllib.parse.urlencode({name: value}, errors="surrogatepass")
        for name, value in filters.items()
    )
    path = ("api/events/latest" if latest else "api/events") + ("?" + query if query else "")
    status, answer, _ = send(hub, tokens[user], "GET", path)
    found = assert_answered(status, answer)
    if status == 200 and not latest and user == "hal":  # a learner reads only their own
        assert {e["learner"] for e in found["events"]} <= {"hal"}


@settings(FUZZ, max_examples=150)
@given(
    poll=st.fixed_dictionaries(
        {}, optional={"question": JSON | TEXT, "options": JSON | st.lists(TEXT, max_size=14)}
    ),
    answer=st.fixed_dictionaries({}, optional={"choice": JSON | NUMBERS, "key": JSON | KEYS}),
)
def test_poll_bodies_get_an_answer_with_a_reason(
    hub: Hub,
    tokens: dict[str, str],
    watch: dict[str, Any],
    poll: dict[str, Any],
    answer: dict[str, Any],
) -> None:
    status, raw, _ = send(
        hub, tokens["sam"], "POST", f"api/groups/{COURSE}/polls", json.dumps(poll).encode()
    )
    made = assert_answered(status, raw)
    poll_id = made["poll"]["id"] if status == 201 else 1
    status, raw, _ = send(
        hub, tokens["hal"], "POST", f"api/polls/{poll_id}/answers", json.dumps(answer).encode()
    )
    assert_answered(status, raw)


# -- the learner's outbox -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def outbox(
    hub: Hub, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceStore]:
    store = ServiceStore(
        f"courseware+{hub.service}/",
        token=tokens["owen"],
        user="owen",
        outbox=tmp_path_factory.mktemp("outbox") / "outbox.sqlite",
        wait=0,
        retry=0.2,
        max_retry=0.4,
    )
    yield store
    store.close()


class Deep(list[Any]):
    """Lists nested ``depth`` deep, shown briefly (Hypothesis's printer would recurse)."""

    def __init__(self, depth: int) -> None:
        value: list[Any] = []
        for _ in range(depth - 2):
            value = [value]
        super().__init__([value])
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth})"


OUTBOX_VALUES = (
    JSON
    | st.sampled_from(
        [
            float("nan"),
            float("inf"),
            2**31,
            2**63,
            b"bytes",
            {1: "a non-text key"},
            {"\ud800": 1},
            "x" * (2 * 1024 * 1024 + 1),
        ]
    )
    | st.sampled_from([2, 32, 33, 990]).map(Deep)
)


def kept_rows(store: ServiceStore) -> int:
    with sqlite3.connect(store.outbox.path) as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


@settings(FUZZ, max_examples=120)
@given(
    values=st.lists(OUTBOX_VALUES, min_size=1, max_size=4),
    item=TEXT,
    schema=st.integers(-(2**33), 2**33),
)
def test_outbox_refuses_at_once_or_delivers_and_never_blocks(
    hub: Hub,
    outbox: ServiceStore,
    watch: dict[str, Any],
    values: list[Any],
    item: str,
    schema: int,
) -> None:
    """Property: ``append`` refuses an event the service could never store (nothing kept), or
    keeps it and the service stores it as sent; nothing accepted is ever set aside, and a
    refused event never holds back the ones after it."""
    kept: list[tuple[int, Any]] = []
    for n, value in enumerate(values):
        event = Event("owen", MODULE, item, "reflection.saved", value, schema=schema)
        rows = kept_rows(outbox)
        try:
            seq = outbox.append(event)
        except (ValueError, RecursionError) as refused:
            assert str(refused).startswith("event."), refused
            assert kept_rows(outbox) == rows  # nothing kept, so nothing to block the rest
            continue
        kept.append((seq, value))
        good = Event("owen", MODULE, f"after-{n}", "reflection.saved", {"n": n})
        kept.append((outbox.append(good), {"n": n}))
    assert outbox.flush(timeout=60), "the outbox did not drain"
    assert outbox.set_aside() == 0
    with psycopg.connect(hub.database_url) as conn:
        for seq, value in kept:
            stored = outbox.outbox.server_id(-seq) if seq < 0 else seq
            assert stored is not None
            (text,) = conn.execute("SELECT value FROM events WHERE id = %s", (stored,)).fetchone()
            assert json.loads(text) == json.loads(json.dumps(value))


# -- nobody else hurt -----------------------------------------------------------------------------
def test_after_the_fuzzing_the_honest_learner_and_the_service_are_unharmed(
    hub: Hub, tokens: dict[str, str], watch: dict[str, Any]
) -> None:
    """Runs last: every honest save succeeded and reads back intact; memory stayed bounded."""
    honest: Honest = watch["honest"]
    time.sleep(0.5)
    honest.stop()
    assert honest.failures == [], honest.failures[:5]
    assert len(honest.saved) > 100, "the honest learner hardly saved: the service was stalled"
    status, answer = hub.call("GET", f"api/events?learner=ben&module={MODULE}", tokens["ben"])
    assert status == 200
    stored = {e["id"]: e["value"] for e in answer["events"]}
    assert stored == honest.saved
    grown = watch["service"].memory_info().rss - watch["rss"]
    assert grown < RSS_GROWTH_BOUND, f"the service grew by {grown / 2**20:.0f} MiB"
    assert hub.service_healthy()
    assert hub.call("GET", "api/me", tokens["hal"])[0] == 200
    assert Path(hub.log_path).stat().st_size < 20 * 2**20  # no request flooded the log
