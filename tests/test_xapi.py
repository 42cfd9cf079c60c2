"""xAPI: every event kind as a statement a real LRS (Ralph, started here) accepts and gives back;
pseudonymous actors, text only when turned on; the hub service's forwarder survives being killed
and the LRS being down, delivering every statement once, in order."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.hub.hubtest import REPO, free_port
from fixtures.lrs import PASSWORD, USER, Ralph

from courseware.cli import main
from courseware.store import Event, SQLiteStore
from courseware.xapi import KINDS, Forwarder, LRSClient, XAPISettings

BASE = "https://learning.example.ac.uk/empathy/"
KEY = "test-pseudonym-key-0123456789abcdef"
HOSTILE = "<script>alert(1)</script> =SUM(A1) 😀 \u202e " + "é" * 2000
CODING = {
    "schema": 1,
    "codes": [{"code": "naming", "confidence": 0.9, "evidence": [{"start": 0, "end": 3, "text": "You"}]}],
    "unsure": [],
    "provides_space": True,
    "model_version": "t",
}  # fmt: skip

VALUES: dict[str, tuple[str, str, Any]] = {
    # kind: (module, item, value), as the widgets store them
    "vignette.step": ("breaking-news", "clinic", {"node": "start", "choice": 1, "to": "pause"}),
    "vignette.restart": ("breaking-news", "clinic", {}),
    "vignette.draft": ("breaking-news", "clinic", {"node": "pause", "text": HOSTILE}),
    "vignette.write": ("breaking-news", "clinic", {"node": "pause", "text": HOSTILE, "words": 6}),
    "vignette.coded": ("breaking-news", "clinic", {"node": "pause", "coding": CODING}),
    "reflection.saved": ("breaking-news", "my-view", {"text": HOSTILE, "words": 6, "title": "T"}),
    "reflection.shared": ("breaking-news", "my-view", {"text": HOSTILE, "words": 6, "title": "T"}),
    "reflection.unshared": ("breaking-news", "my-view", {}),
    "reflection.submitted": ("breaking-news", "my-view", {"text": HOSTILE, "words": 6, "title": "T"}),
    "choice.pick": ("breaking-news", "reply-1", {"option": 2, "best": True}),
    "compose.draft": ("breaking-news", "own-words", {"text": HOSTILE, "words": 6}),
    "compose.submit": ("breaking-news", "own-words", {"text": HOSTILE, "words": 6}),
    "compose.code": ("breaking-news", "own-words", {"codes": ["naming", "respecting"]}),
    "compose.coded": ("breaking-news", "own-words", CODING),
    "cues.marks": ("breaking-news", "cues", {"lines": [2, 5]}),
    "cues.submit": ("breaking-news", "cues", {"lines": [2, 5, 7]}),
    "likert.draft": ("breaking-news", "jse", {"instrument": "jse", "wave": "pre", "answers": {"1": 5}}),
    "likert.answer": ("breaking-news", "jse", {"instrument": "jse", "wave": "pre", "answers": {"1": 5, "2": "na", "3": None}}),
    "timed.start": ("breaking-news", "timed", {"minutes": 10}),
    "timed.draft": ("breaking-news", "timed", {"text": HOSTILE, "words": 6, "title": "T"}),
    "timed.submit": ("breaking-news", "timed", {"text": HOSTILE, "words": 6, "title": "T"}),
    "close_reading.saved": ("breaking-news", "reading", {"notes": {"a": HOSTILE}, "labels": {"a": "A"}, "words": 6, "title": "T"}),
    "parallel_chart.saved": ("breaking-news", "chart", {"notes": {"a": HOSTILE}, "labels": {"a": "A"}, "words": 6, "title": "T"}),
    "selfcheck.answer": ("breaking-news", "self-check/q1", {"choice": 0, "correct": False}),
    "certificate.issued": ("breaking-news", "certificate", {"date": "2026-12-03", "reflection_attached": False}),
    "seminar.started": ("seminar:breaking-news", "20261203T0900-abc", {"module": "breaking-news"}),
    "seminar.opened": ("seminar:breaking-news", "20261203T0900-abc", {"question": "q1"}),
    "seminar.closed": ("seminar:breaking-news", "20261203T0900-abc", {}),
    "seminar.round": ("seminar:breaking-news", "20261203T0900-abc", {"round": 2}),
    "seminar.moderated": ("seminar:breaking-news", "20261203T0900-abc", {"answer": "x1", "status": "approved"}),
    "seminar.answered": ("seminar:breaking-news", "20261203T0900-abc", {"round": 1, "question": "q2", "person": "h4sh", "answer": "x1", "text": HOSTILE}),
    "poll.answer": ("polls", "7", {"choice": 1}),
    "future.kind": ("breaking-news", "something", {"n": 1}),
}  # fmt: skip
"""One event of every kind (and one kind no version stores yet)."""


def test_every_stored_kind_has_a_mapping() -> None:
    assert set(KINDS) == set(VALUES) - {"future.kind"}


@pytest.fixture(scope="module")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ralph]:
    lrs = Ralph(tmp_path_factory.mktemp("ralph")).start()
    yield lrs
    lrs.stop()


@pytest.fixture
def xapi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSEWARE_XAPI_ACTIVITY_BASE", BASE)
    monkeypatch.setenv("COURSEWARE_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("COURSEWARE_COURSE_MODULES", "mbchb-y3=breaking-news")
    monkeypatch.delenv("COURSEWARE_XAPI_SEND_TEXT", raising=False)


def _store_every_kind(path: Path, learner: str = "ana.jones@example.ac.uk") -> list[Event]:
    events = []
    with SQLiteStore(path) as store:
        for n, (kind, (module, item, value)) in enumerate(VALUES.items()):
            event = Event(learner, module, item, kind, value, time=1_780_000_000 + n * 7.25)
            store.append(event)
            events.append(event)
    return events


def _export(tmp_path: Path, store: Path, *args: str) -> list[dict[str, Any]]:
    out = tmp_path / f"statements-{len(list(tmp_path.iterdir()))}.json"
    assert main(["xapi", "export", "--store", str(store), "-o", str(out), *args]) == 0
    return list(json.loads(out.read_text(encoding="utf-8")))


def _client(ralph: Ralph) -> LRSClient:
    return LRSClient(ralph.endpoint, USER, PASSWORD)


def _as_sent(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k not in ("stored", "authority")}


def test_the_lrs_accepts_every_kind_and_gives_it_back(
    ralph: Ralph, tmp_path: Path, xapi_env: None
) -> None:
    events = _store_every_kind(tmp_path / "responses.sqlite")
    statements = _export(tmp_path, tmp_path / "responses.sqlite")
    assert len(statements) == len(events)
    client = _client(ralph)
    assert client.send(statements) == [s["id"] for s in statements]
    back = {s["id"]: s for s in client.statements(limit="500")}
    for sent in statements:
        assert sent["id"] in back, sent["context"]["extensions"]
        assert _as_sent(back[sent["id"]]) == sent
    by_kind = {s["context"]["extensions"][BASE + "extensions/event-kind"]: s for s in statements}
    step = by_kind["vignette.step"]
    assert step["verb"]["id"] == "http://adlnet.gov/expapi/verbs/responded"
    assert step["object"]["id"] == BASE + "modules/breaking-news/cases/clinic/nodes/start"
    assert step["context"]["contextActivities"]["parent"][0]["id"] == (
        BASE + "modules/breaking-news/cases/clinic"
    )
    grouping = [a["id"] for a in step["context"]["contextActivities"]["grouping"]]
    assert grouping == [BASE + "modules/breaking-news", BASE + "courses/mbchb-y3"]
    pick = by_kind["choice.pick"]["result"]
    assert pick["success"] is True and pick["score"]["scaled"] == 1.0 and pick["response"] == "2"
    assert by_kind["selfcheck.answer"]["result"]["success"] is False
    assert by_kind["certificate.issued"]["verb"]["id"].endswith("/completed")
    assert by_kind["certificate.issued"]["object"]["id"] == BASE + "modules/breaking-news"
    assert by_kind["timed.submit"]["result"]["duration"] == "PT0H0M14.5S"  # from timed.start
    assert by_kind["seminar.answered"]["verb"]["id"].endswith("/commented")
    assert by_kind["future.kind"]["verb"]["id"].endswith("/interacted")
    registrations = {
        s["context"].get("registration")
        for s in statements
        if s["object"]["id"].startswith(BASE + "modules/breaking-news")
    }
    assert len(registrations) == 1  # one learner, one module: one registration
    # Sending again changes nothing at the LRS: the ids are the same, so it keeps one of each.
    again = _export(tmp_path, tmp_path / "responses.sqlite")
    assert [s["id"] for s in again] == [s["id"] for s in statements]
    count = len(client.statements(limit="500"))
    client.send(again)  # Ralph takes an identical statement again and keeps one
    assert len(client.statements(limit="500")) == count


def test_actors_are_pseudonymous_and_text_stays_home_unless_turned_on(
    tmp_path: Path, xapi_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_every_kind(tmp_path / "responses.sqlite")
    plain = _export(tmp_path, tmp_path / "responses.sqlite")
    text = json.dumps(plain, ensure_ascii=False)
    assert "ana.jones" not in text and "ana" not in text.split('"name": "')[1][:12]
    assert "<script>" not in text and "é" * 100 not in text and "h4sh" not in text
    assert {s["actor"]["account"]["homePage"] for s in plain} == {"https://learning.example.ac.uk/"}
    names = {s["actor"]["account"]["name"] for s in plain}
    assert len(names) == 2  # the learner, and the seminar participant (never the presenter)
    words = [
        s for s in plain if s.get("result", {}).get("extensions", {}).get(BASE + "extensions/words")
    ]
    assert words and all("response" not in s["result"] for s in words)  # words counted, not sent
    # the institution turns text on: the learner's words go, stored intact
    with_text = _export(tmp_path, tmp_path / "responses.sqlite", "--send-text")
    responses = [s["result"]["response"] for s in with_text if s.get("result", {}).get("response")]
    assert HOSTILE in responses
    assert [s["id"] for s in with_text] == [s["id"] for s in plain]
    monkeypatch.setenv("COURSEWARE_XAPI_SEND_TEXT", "true")
    assert _export(tmp_path, tmp_path / "responses.sqlite") == with_text
    # another key: other pseudonyms and other ids (nothing links them without the key)
    monkeypatch.setenv("COURSEWARE_PSEUDONYM_KEY", "another-key-0123456789abcdef")
    other = _export(tmp_path, tmp_path / "responses.sqlite")
    assert not {s["actor"]["account"]["name"] for s in other} & names
    assert not {s["id"] for s in other} & {s["id"] for s in plain}


def test_since_and_settings_errors(tmp_path: Path, xapi_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    _store_every_kind(tmp_path / "responses.sqlite")
    later = _export(tmp_path, tmp_path / "responses.sqlite", "--since", str(1_780_000_000 + 100))
    assert len(later) == sum(1 for n in range(len(VALUES)) if n * 7.25 >= 100)
    monkeypatch.delenv("COURSEWARE_PSEUDONYM_KEY")
    out = tmp_path / "none.json"
    assert (
        main(["xapi", "export", "--store", str(tmp_path / "responses.sqlite"), "-o", str(out)]) == 1
    )
    assert "COURSEWARE_PSEUDONYM_KEY" in capsys.readouterr().err and not out.exists()
    with pytest.raises(ValueError, match="ACTIVITY_BASE: must be an http"):
        XAPISettings.from_environment({"COURSEWARE_PSEUDONYM_KEY": KEY}, activity_base="urn:x")


# -- the forwarder in the hub service -----------------------------------------------------------


class Service:
    """``python -m courseware.hub`` on a SQLite database, forwarding to the LRS."""

    def __init__(self, folder: Path, lrs: Ralph) -> None:
        self.folder = folder
        self.database = folder / "courseware.sqlite"
        self.port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{self.port}",
            "JUPYTERHUB_API_TOKEN": "unused",
            "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
            "COURSEWARE_XAPI_ACTIVITY_BASE": BASE,
            "COURSEWARE_PSEUDONYM_KEY": KEY,
            "COURSEWARE_XAPI_LRS": lrs.endpoint,
            "COURSEWARE_XAPI_USERNAME": USER,
            "COURSEWARE_XAPI_PASSWORD": PASSWORD,
            "COURSEWARE_XAPI_OUTBOX": str(folder / "xapi-outbox.sqlite"),
            "COURSEWARE_XAPI_BATCH": "7",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "courseware.hub", "--database", f"sqlite:///{self.database}"],
            env=self.env,
            stdout=open(self.folder / "service.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        _wait(self.healthy, 60, "the service to start")
        return self

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/services/courseware/api/health"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)  # mid-batch, no goodbye
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Producer:
    """Learners' events arriving in the service's database, as the service stores them."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Producer:
        self._thread.start()
        return self

    def _run(self) -> None:
        db = sqlite3.connect(self.database, timeout=30, isolation_level=None)
        while not self._stop.is_set():
            db.execute(
                "INSERT INTO events (learner, module, item, kind, value, time, schema, idem_key,"
                " received) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                ("ana", "kill-test", f"reply-{self.count}", "choice.pick",
                 json.dumps({"option": 1, "best": self.count % 2 == 0}), time.time(),
                 f"k{self.count}", time.time()),
            )  # fmt: skip
            self.count += 1
            time.sleep(0.05)
        db.close()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.count


def test_forwarder_survives_kill_and_lrs_outage_delivering_once_in_order(
    ralph: Ralph, tmp_path: Path
) -> None:
    lrs = ralph
    service = Service(tmp_path, lrs).start()
    producer = Producer(service.database).start()
    client = _client(lrs)
    try:
        _wait(lambda: len(_mine(client)) >= 20, 60, "the first statements")
        service.kill()  # the forwarder dies between feeding, sending and marking
        lrs.stop()  # and the LRS goes away
        time.sleep(1.5)  # learners keep working meanwhile
        service.start()  # back with the LRS still down: it waits, it does not fall over
        time.sleep(3)
        assert service.process is not None and service.process.poll() is None
        assert service.healthy()
        lrs.start()
        time.sleep(2)
        produced = producer.stop()
        _wait(lambda: len(_mine(client)) >= produced, 60, "the outbox to drain")
        time.sleep(2)  # nothing more arrives: no duplicates
        stored = _mine(client)
    finally:
        producer.stop()
        service.stop()
        if not lrs.up():
            lrs.start()
    numbers = [_n(s) for s in stored]
    assert sorted(numbers) == list(range(produced))  # every event, once
    in_stored_order = [_n(s) for s in sorted(stored, key=lambda s: (s["stored"], _n(s)))]
    assert in_stored_order == list(range(produced))  # and in the order they happened
    outbox = sqlite3.connect(tmp_path / "xapi-outbox.sqlite")
    assert outbox.execute("SELECT COUNT(*) FROM statements WHERE delivered IS NULL").fetchone() == (
        0,
    )
    assert outbox.execute("SELECT COUNT(*) FROM statements").fetchone() == (produced,)
    assert oct(os.stat(tmp_path / "xapi-outbox.sqlite").st_mode & 0o777) == "0o600"


def _mine(client: LRSClient) -> list[dict[str, Any]]:
    """The statements about the kill test's module (the LRS is shared with the other tests)."""
    return [
        s for s in client.statements(limit="1000") if "/modules/kill-test/" in s["object"]["id"]
    ]


def _n(statement: dict[str, Any]) -> int:
    """Which produced event a statement came from (its exercise is ``reply-<n>``)."""
    return int(statement["object"]["id"].rsplit("-", 1)[1])


# -- docs/xapi.md, walked -------------------------------------------------------------------------

GUIDE = REPO / "docs" / "xapi.md"
BLOCK = re.compile(r"^<!-- walk(?:: (\w+))? -->\n```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
ROW = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \| (\w+) \| (\w+) \|", re.MULTILINE)


def test_the_guides_table_is_the_mapping() -> None:
    rows = {kind: (verb, activity) for kind, verb, activity in ROW.findall(GUIDE.read_text())}
    assert rows == {kind: (k.verb, k.activity) for kind, k in KINDS.items()}


def test_the_guide_walked_literally(ralph: Ralph, tmp_path: Path) -> None:
    """Its export block, then its forwarder block, run in bash as written."""
    blocks = {name or "export": body for name, body in BLOCK.findall(GUIDE.read_text())}
    assert set(blocks) == {"export", "hub"}
    home = tmp_path / "home"
    (home / ".config" / "courseware").mkdir(parents=True)
    (home / ".config" / "courseware" / "pseudonym.key").write_text(KEY + "\n")
    store = tmp_path / "responses.sqlite"
    _store_every_kind(store)
    with SQLiteStore(store) as opened:  # one event in the autumn
        opened.append(Event("ben", "breaking-news", "reply-1", "choice.pick", {"option": 0, "best": False}, time=1_788_220_800.0))  # fmt: skip
    (tmp_path / "lrs-password").write_text(PASSWORD)
    env = {
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "STORE": str(store),
        "LRS": ralph.endpoint,
        "LRS_PASSWORD_FILE": str(tmp_path / "lrs-password"),
        "STATE": str(tmp_path),
    }
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", blocks["export"]],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    everything = json.loads((work / "statements.json").read_text())
    autumn = json.loads((work / "autumn.json").read_text())
    assert len(everything) == len(VALUES) + 1 and len(autumn) == 1
    assert autumn[0]["id"] == everything[-1]["id"]
    # The forwarder block, after the export block's settings: the service sends them all.
    port = free_port()
    env.update(
        JUPYTERHUB_SERVICE_URL=f"http://127.0.0.1:{port}",
        JUPYTERHUB_API_TOKEN="unused",
        JUPYTERHUB_API_URL="http://127.0.0.1:9/hub/api",
    )
    settings = "\n".join(
        line for line in blocks["export"].splitlines() if line.startswith("export ")
    )
    service = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", settings + "\n" + blocks["hub"].replace("\npython ", "\nexec python ")],
        cwd=work, env=env, stdout=open(tmp_path / "service.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    try:
        hub_db = tmp_path / "courseware.sqlite"
        _wait(hub_db.exists, 60, "the service's database")
        _wait(lambda: _has_events_table(hub_db), 60, "the service's schema")
        ids = {s["id"] for s in everything}
        db = sqlite3.connect(hub_db, timeout=30, isolation_level=None)
        with SQLiteStore(store) as opened:
            for e in opened.events():
                db.execute(
                    "INSERT INTO events (learner, module, item, kind, value, time, schema)"
                    " VALUES (?, ?, ?, ?, ?, ?, 1)",
                    (e.learner, e.module, e.item, e.kind, e.value_json(), e.time),
                )
        db.close()
        client = _client(ralph)
        _wait(lambda: ids <= {s["id"] for s in client.statements(limit="1000")}, 60, "forwarding")
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    assert (tmp_path / "xapi-outbox.sqlite").exists()


def _has_events_table(path: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
            return bool(
                db.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'courseware_schema'"
                ).fetchone()
            )
    except sqlite3.Error:
        return False


def test_a_statement_the_lrs_refuses_is_set_aside_and_the_rest_go_on(
    ralph: Ralph, tmp_path: Path
) -> None:
    settings = XAPISettings.from_environment(
        {"COURSEWARE_PSEUDONYM_KEY": KEY},
        activity_base=BASE,
        lrs=ralph.endpoint,
        username=USER,
        password=PASSWORD,
        outbox=tmp_path / "outbox.sqlite",
        batch=10,
    )
    forwarder = Forwarder(_NoEvents(), settings)
    mapper = forwarder.mapper
    events = [
        Event("cat", "refusal-test", f"reply-{n}", "choice.pick", {"option": n, "best": False}, time=1_780_000_000 + n)
        for n in range(5)
    ]  # fmt: skip
    rows = [(n + 1, mapper.statement(e)) for n, e in enumerate(events)]
    rows[2][1]["verb"] = {"display": {"en-GB": "no id"}}  # a statement no LRS may accept
    assert forwarder.outbox.add(rows) == 5
    assert forwarder.outbox.add(rows) == 0  # fed again after a crash: nothing new
    assert forwarder.outbox.cursor() == 5
    assert forwarder.send_pending() == 5
    held = {s["id"] for s in _client(ralph).statements(limit="1000")}
    assert [r[1]["id"] in held for r in rows] == [True, True, False, True, True]
    [(refused_id, reason)] = forwarder.outbox.set_aside()
    assert refused_id == rows[2][1]["id"] and "verb" in reason  # Ralph: 422, naming the field
    assert forwarder.outbox.pending_count() == 0
    assert oct(os.stat(tmp_path / "outbox.sqlite").st_mode & 0o777) == "0o600"
    big = [(6 + n, {**rows[0][1], "id": f"00000000-0000-4000-8000-00000000000{n}", "x": "é" * 600_000}) for n in range(3)]  # fmt: skip
    forwarder.outbox.add(big)
    assert len(forwarder.outbox.pending(10, max_bytes=2_000_000)) == 1  # a batch stays small
    forwarder.outbox.close()


class _NoEvents:
    async def events_after(self, after: int, limit: int = 500) -> list[Any]:
        return []

    async def select_events(self, **filters: Any) -> list[Any]:
        return []


def test_the_feed_reads_postgresql_in_id_order(postgres: Any, tmp_path: Path) -> None:
    """The forwarder's feed over the production database: every event after the cursor, in order."""
    from courseware.hub import open_database
    from courseware.hub._db import NewEvent

    from conftest import run_coroutine

    async def scenario() -> list[tuple[int, str]]:
        db = open_database(postgres.create_database("xapi_feed"))
        await db.open()
        try:
            await db.migrate()
            first = [NewEvent("ana", "m", f"i{n}", "choice.pick", "{}", 1.0 + n, 1, None) for n in range(5)]  # fmt: skip
            await db.insert_events(first)
            await db.insert_events([NewEvent("ben", "m", "i9", "choice.pick", '{"option": 1}', 9.0, 1, None)])  # fmt: skip
            settings = XAPISettings.from_environment(
                {"COURSEWARE_PSEUDONYM_KEY": KEY}, activity_base=BASE, lrs="http://127.0.0.1:9/xAPI/",
                outbox=tmp_path / "outbox.sqlite", batch=10,
            )  # fmt: skip
            forwarder = Forwarder(db, settings)
            assert await forwarder.feed(limit=2) == 6  # in pages of two
            assert await forwarder.feed() == 0  # nothing new: nothing repeated
            rows = forwarder.outbox.pending(100)
            forwarder.outbox.close()
            return [(seq, s["object"]["id"].rsplit("/", 1)[1]) for seq, s in rows]
        finally:
            await db.close()

    assert [item for _, item in run_coroutine(scenario())] == ["i0", "i1", "i2", "i3", "i4", "i9"]
