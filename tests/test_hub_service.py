"""The courseware service on a real JupyterHub with real PostgreSQL: roles, privacy, nothing lost.

One hub for the module (deploy/jupyterhub_config.py with test identities): learners ana and ben
and tutor tess run real servers spawned by the hub; cat, dev, eve and fay are learners who use
personal tokens; sam leads seminars; eli is an evaluation lead. Course 101 has five learners (the
minimum group size); course 202 has two.
"""

from __future__ import annotations

import http.cookiejar as http_cookiejar
import json
import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fixtures.hub.hubtest import Hub, Kernel, http
from helpers import wait_until

from courseware.hub import ROUTES

from conftest import MODULES

pytestmark = pytest.mark.hub

MODULE_DIR = MODULES / "foundation-year" / "what-is-clinical-empathy"
BIG, SMALL = "nbgrader-course101", "nbgrader-course202"
GROUPS = {
    BIG: ["ana", "ben", "cat", "dev", "eve"],
    SMALL: ["ana", "fay"],
    "formgrade-course101": ["tess"],
    "formgrade-course202": ["tess"],
    "seminar-leads-course101": ["sam"],
    "seminar-leads-course202": ["sam"],
    "evaluation-course101": ["eli"],
    "evaluation-course202": ["eli"],
}
HOSTILE = "<script>alert('x')</script> =HYPERLINK(\"http://x\") \0 😀 \u202e ﷽ " + "é" * 200_000


@pytest.fixture(scope="module")
def hub(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    url = postgres.create_database("hub_service")
    running = Hub(
        tmp_path_factory.mktemp("hub"),
        database_url=url,
        groups=GROUPS,
        courses=["course101", "course202"],
    ).start()
    try:
        for user in ("ana", "ben", "tess"):
            running.ensure_user(user)
            running.hub("POST", f"/users/{user}/server")
        for user in ("ana", "ben", "tess"):
            running.spawn(user)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def kernels(hub: Hub) -> Iterator[dict[str, Kernel]]:
    started = {user: hub.kernel(user) for user in ("ana", "ben", "tess")}
    for kernel in started.values():
        kernel.execute(
            "import os, json\nimport courseware as cw\nfrom courseware.store import Event\n"
            "store = cw.open_store()"
        )
    yield started
    for kernel in started.values():
        kernel.close()


@pytest.fixture(scope="module")
def tokens(hub: Hub, kernels: dict[str, Kernel]) -> dict[str, str]:
    """Each person's token: the kernel's own for ana, ben and tess; personal tokens for others."""
    found = {
        user: kernel.execute("print(os.environ['JUPYTERHUB_API_TOKEN'], end='')")
        for user, kernel in kernels.items()
    }
    for user in ("cat", "dev", "eve", "fay", "sam", "eli"):
        hub.ensure_user(user)
        found[user] = hub.token(user)
    return found


def rows(hub: Hub, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(hub.database_url) as conn:
        return list(conn.execute(sql, args).fetchall())


def event(learner: str, item: str, kind: str, value: Any, key: str | None = None) -> dict[str, Any]:
    return {
        "learner": learner,
        "module": "what-is-clinical-empathy",
        "item": item,
        "kind": kind,
        "value": value,
        "time": time.time(),
        "key": key,
    }


def test_kernel_holds_no_database_credentials(hub: Hub, kernels: dict[str, Kernel]) -> None:
    password = hub.database_url.split(":")[2].split("@")[0]
    assert password in "".join(hub.service_process().environ().values())  # the service has it
    out = kernels["ana"].execute(
        "environ = dict(os.environ)\n"
        "server = open(f'/proc/{os.getppid()}/environ', 'rb').read().decode(errors='replace')\n"
        "print(json.dumps({'env': environ, 'server': server, 'store': repr(store)}))"
    )
    seen = json.loads(out)
    assert seen["env"]["COURSEWARE_STORE"].startswith("courseware+http://127.0.0.1:")
    assert seen["store"].startswith("ServiceStore(")
    assert password not in json.dumps(seen["env"]) and password not in seen["server"]
    assert "postgresql://" not in json.dumps(seen["env"]) + seen["server"]


def test_learner_kernel_saves_reflections_through_the_module(
    hub: Hub, kernels: dict[str, Kernel]
) -> None:
    kernels["ana"].execute(
        f"os.chdir({str(MODULE_DIR)!r})\n"
        "module = cw.open_module()\n"
        "r = module.reflection('what-empathy-means')\n"
        f"r.text.value = {HOSTILE!r}\n"
        "assert r.save()\n"
        "r2 = module.reflection('noticing-cues')\n"
        "r2.text.value = 'A first draft about cues.'\n"
        "r2.save()\n"
        "r2.text.value = 'A second draft about cues.'\n"
        "r2.save()\n"
        "assert store.pending() == 0, store.pending()"
    )
    stored = rows(
        hub,
        "SELECT item, value FROM events WHERE learner = 'ana' AND kind = 'reflection.saved'"
        " ORDER BY id",
    )
    assert [(item, json.loads(value)["text"]) for item, value in stored] == [
        ("what-empathy-means", HOSTILE),
        ("noticing-cues", "A first draft about cues."),
        ("noticing-cues", "A second draft about cues."),
    ]
    # A fresh view of the module (as after reopening the notebook) reads the text back.
    out = kernels["ana"].execute(
        "print(cw.open_module().reflection('noticing-cues').text.value, end='')"
    )
    assert out == "A second draft about cues."


def _attempts_on_anas_data(poll_202: int) -> dict[str, tuple[str, str, Any]]:
    """One request per endpoint that would reveal or change ana's data (or her groups')."""
    latest = "learner=ana&module=what-is-clinical-empathy&item=noticing-cues&kind=reflection.saved"
    return {
        "api/events": ("GET", "api/events?learner=ana", None),
        "api/events#all": ("GET", "api/events", None),
        "api/events#group": ("GET", f"api/events?group={SMALL}", None),
        "api/events#post": ("POST", "api/events", {"events": [event("ana", "x", "forged", 1)]}),
        "api/events/latest": ("GET", f"api/events/latest?{latest}", None),
        "api/groups/([^/]+)/aggregates": ("GET", f"api/groups/{SMALL}/aggregates", None),
        "api/groups/([^/]+)/polls": ("GET", f"api/groups/{SMALL}/polls", None),
        "api/groups/([^/]+)/polls#post": (
            "POST",
            f"api/groups/{SMALL}/polls",
            {"question": "q?", "options": ["a", "b"]},
        ),
        r"api/polls/([0-9]+)": ("GET", f"api/polls/{poll_202}", None),
        r"api/polls/([0-9]+)/answers": ("POST", f"api/polls/{poll_202}/answers", {"choice": 0}),
        r"api/polls/([0-9]+)/close": ("POST", f"api/polls/{poll_202}/close", None),
        r"api/polls/([0-9]+)/results": ("GET", f"api/polls/{poll_202}/results", None),
        "cohort/([^/]+)": ("GET", f"cohort/{SMALL}", None),
    }


def test_other_learner_is_refused_through_every_endpoint(
    hub: Hub, kernels: dict[str, Kernel], tokens: dict[str, str]
) -> None:
    status, answer = hub.call(
        "POST",
        f"api/groups/{SMALL}/polls",
        tokens["sam"],
        {"question": "Q?", "options": ["a", "b"]},
    )
    assert status == 201, answer
    attempts = _attempts_on_anas_data(answer["poll"]["id"])
    # no data, or only the caller's own identity; the coder reads only the text it is sent
    unguarded = {"api/health", "api/me", "api/feedback/code"}
    covered = {name.split("#")[0] for name in attempts} | unguarded
    assert covered == {path for path, _ in ROUTES}, "a new endpoint needs a refusal check here"
    for name, (method, path, body) in attempts.items():
        status, answer = hub.call(method, path, tokens["ben"], body)
        assert status == 403, (name, status, answer)
        assert set(answer) == {"status", "message"}, answer  # nothing of ana's comes back
    status, me = hub.call("GET", "api/me", tokens["ben"])
    assert (
        status == 200 and me["name"] == "ben" and me["cohort_read"] == {"groups": [], "users": []}
    )
    # The same from ben's own kernel, through the store interface.
    out = kernels["ben"].execute(
        "from courseware.store import ServiceRefused\n"
        "try:\n    store.events(learner='ana')\nexcept ServiceRefused as e:\n    print(e.status)\n"
        "try:\n    store.append(Event('ana', 'm', 'i', 'reflection.saved', {'text': 'forged'}))\n"
        "except PermissionError:\n    print('refused locally')\n"
        "print(len(store.events(learner='ben')))"
    )
    assert out.splitlines() == ["403", "refused locally", "0"]
    assert rows(hub, "SELECT count(*) FROM events WHERE kind = 'forged'") == [(0,)]
    # No token, or a token without access to the service: refused too.
    assert http("GET", f"{hub.service}/api/events?learner=ana")[0] in (401, 403)
    no_access = hub.token("ben", scopes=["read:users:name!user"])
    assert hub.call("GET", "api/events?learner=ben", no_access)[0] == 403


def test_learner_kernel_codes_a_reply_through_the_service(
    hub: Hub, kernels: dict[str, Kernel], tokens: dict[str, str]
) -> None:
    """One coder for the hub: the learner's kernel asks the service and never loads the model."""
    out = kernels["ana"].execute(
        "import sys\nfrom courseware.feedback._client import request_coding\n"
        "c = request_coding('I keep thinking it is cancer.',"
        " 'You sound really frightened. What is worrying you most?')\n"
        "print(json.dumps([c.names(), c.model_version, 'numpy' in sys.modules,"
        " os.environ.get('COURSEWARE_CODER_URL')]))"
    )
    names, version, numpy_loaded, own_coder = json.loads(out)
    assert {"naming", "exploring"} <= set(names) and version and not numpy_loaded
    assert own_coder is None  # the user's server (JupyterLab extension) stood aside: one model
    only_access = hub.token("ben", scopes=["access:services!service=courseware"])
    body = {"statement": "I'm scared.", "reply": "Tell me more."}
    status, answer = hub.call("POST", "api/feedback/code", only_access, body)
    assert status == 403, answer  # no learner scope
    status, answer = hub.call("POST", "api/feedback/code", tokens["cat"], ["not an object"])
    assert status == 400 and "JSON object" in answer["message"], answer


def test_resent_events_are_stored_once(hub: Hub, tokens: dict[str, str]) -> None:
    body = {"events": [event("cat", "dup", "selfcheck.answer", {"choice": 1}, key="cat-dup-1")]}
    first = hub.call("POST", "api/events", tokens["cat"], body)
    again = hub.call("POST", "api/events", tokens["cat"], body)
    assert first[0] == again[0] == 200 and first[1]["ids"] == again[1]["ids"]
    assert rows(hub, "SELECT count(*) FROM events WHERE idem_key = 'cat-dup-1'") == [(1,)]
    forged_answer = {"events": [event("cat", "1", "poll.answer", {"choice": 99})]}
    status, answer = hub.call("POST", "api/events", tokens["cat"], forged_answer)
    assert status == 400 and "api/polls/<id>/answers" in answer["message"], answer
    bad = {"events": [{**event("cat", "x", "k", 1), "time": "yesterday"}]}
    status, answer = hub.call("POST", "api/events", tokens["cat"], bad)
    assert status == 400 and answer["message"].startswith("events[0].time:"), answer


def test_tutor_reads_cohort_but_never_private_drafts(
    hub: Hub, kernels: dict[str, Kernel], tokens: dict[str, str]
) -> None:
    kernels["ana"].execute(
        "store.append(Event('ana', 'what-is-clinical-empathy', 'q1', 'selfcheck.answer', {'choice': 2}))\n"
        "store.append(Event('ana', 'what-is-clinical-empathy', 'noticing-cues', 'reflection.shared',"
        " {'text': 'The version I chose to share.'}))"
    )
    read = (
        "seen = store.events(learner='ana')\nprint(json.dumps([[e.kind, e.value] for e in seen]))"
    )
    seen = json.loads(kernels["tess"].execute(read))
    kinds = [kind for kind, _ in seen]
    assert "selfcheck.answer" in kinds and "reflection.saved" not in kinds
    assert ["reflection.shared", {"text": "The version I chose to share."}] in seen
    assert all("draft" not in json.dumps(value) for _, value in seen)
    # Withdrawn: the shared snapshot disappears from the tutor's view.
    kernels["ana"].execute(
        "store.append(Event('ana', 'what-is-clinical-empathy', 'noticing-cues', 'reflection.unshared', {}))"
    )
    seen = json.loads(kernels["tess"].execute(read))
    assert "reflection.shared" not in [kind for kind, _ in seen]
    # Submitted work stays visible: a submission is handed in, not withdrawn by unsharing.
    kernels["ana"].execute(
        "store.append(Event('ana', 'what-is-clinical-empathy', 'what-empathy-means',"
        " 'reflection.submitted', {'text': 'My submitted reflection.'}))\n"
        "store.append(Event('ana', 'what-is-clinical-empathy', 'what-empathy-means',"
        " 'reflection.unshared', {}))"
    )
    seen = json.loads(kernels["tess"].execute(read))
    assert ["reflection.submitted", {"text": "My submitted reflection."}] in seen
    # A cohort read by group; an evaluation lead reads aggregates only.
    status, answer = hub.call("GET", f"api/events?group={BIG}", tokens["tess"])
    assert status == 200 and {e["learner"] for e in answer["events"]} <= set(GROUPS[BIG])
    assert not [e for e in answer["events"] if e["kind"] == "reflection.saved"]
    assert hub.call("GET", "api/events?learner=ana", tokens["eli"])[0] == 403
    assert hub.call("GET", "api/events?learner=sam", tokens["tess"])[0] == 403


def test_tutor_sees_cohort_aggregates_but_not_a_small_group(
    hub: Hub, kernels: dict[str, Kernel], tokens: dict[str, str]
) -> None:
    for learner in ("ben", "cat", "dev", "eve"):
        body = {"events": [event(learner, "q1", "selfcheck.answer", {"choice": 1})]}
        assert hub.call("POST", "api/events", tokens[learner], body)[0] == 200
    body = {"events": [event("fay", "q1", "selfcheck.answer", {"choice": 0})]}
    assert hub.call("POST", "api/events", tokens["fay"], body)[0] == 200
    out = kernels["tess"].execute(
        "from courseware.store import ServiceClient\n"
        "client = ServiceClient(store.url, os.environ['JUPYTERHUB_API_TOKEN'])\n"
        f"print(json.dumps([client.request('GET', 'api/groups/{BIG}/aggregates'),"
        f" client.request('GET', 'api/groups/{SMALL}/aggregates')]))"
    )
    big, small = json.loads(out)
    assert big["suppressed"] is False and big["learners"] == 5
    cells = {(c["item"], c["kind"]): c for c in big["items"]}
    assert cells[("q1", "selfcheck.answer")]["learners"] == 5
    drafts = cells[("noticing-cues", "reflection.saved")]  # only ana: too few to report
    assert drafts["suppressed"] is True and drafts["learners"] is None
    assert small == {
        "group": SMALL,
        "minimum": 5,
        "suppressed": True,
        "message": "groups smaller than 5 learners are not reported",
    }
    assert hub.call("GET", f"api/groups/{BIG}/aggregates", tokens["eli"])[0] == 200
    assert hub.call("GET", f"api/groups/{BIG}/aggregates", tokens["ana"])[0] == 403


def test_seminar_lead_runs_a_poll_for_their_group(hub: Hub, tokens: dict[str, str]) -> None:
    status, answer = hub.call(
        "POST",
        f"api/groups/{BIG}/polls",
        tokens["sam"],
        {"question": "What would you say next?", "options": ["Ask", "Reassure", "Name it"]},
    )
    assert status == 201, answer
    poll = answer["poll"]["id"]
    assert hub.call("GET", f"api/groups/{BIG}/polls", tokens["ben"])[1]["polls"][-1]["id"] == poll
    for learner, choice in (("ana", 2), ("ben", 2), ("cat", 0), ("dev", 1)):
        assert (
            hub.call("POST", f"api/polls/{poll}/answers", tokens[learner], {"choice": choice})[0]
            == 200
        )
    status, results = hub.call("GET", f"api/polls/{poll}/results", tokens["sam"])
    assert status == 200 and results["suppressed"] is True and "counts" not in results
    assert hub.call("POST", f"api/polls/{poll}/answers", tokens["eve"], {"choice": 2})[0] == 200
    assert hub.call("POST", f"api/polls/{poll}/answers", tokens["cat"], {"choice": 2})[0] == 200
    status, results = hub.call("GET", f"api/polls/{poll}/results", tokens["sam"])
    assert results["suppressed"] is False and results["counts"] == [0, 1, 4]  # cat changed
    for who in ("tess", "ana"):
        assert hub.call("GET", f"api/polls/{poll}/results", tokens[who])[0] == 403
    assert hub.call("POST", f"api/polls/{poll}/answers", tokens["fay"], {"choice": 0})[0] == 403
    assert hub.call("POST", f"api/polls/{poll}/close", tokens["sam"])[0] == 200
    assert hub.call("POST", f"api/polls/{poll}/answers", tokens["ana"], {"choice": 0})[0] == 409
    # Poll answers are anonymous: not even a tutor reads them per learner.
    status, answer = hub.call("GET", "api/events?learner=ana", tokens["tess"])
    assert not [e for e in answer["events"] if e["kind"].startswith("poll.")]


def _ticks(hub: Hub, kind: str) -> list[int]:
    found = rows(
        hub, "SELECT value FROM events WHERE learner = 'ana' AND kind = %s ORDER BY id", kind
    )
    return [json.loads(value)["n"] for (value,) in found]


def test_service_killed_mid_session_learner_keeps_working_and_nothing_is_lost(
    hub: Hub, kernels: dict[str, Kernel]
) -> None:
    ana = kernels["ana"]
    count = 150
    ana.execute(
        "import threading, time\n"
        "def burst():\n"
        f"    for n in range({count}):\n"
        "        store.append(Event('ana', 'load', 'tick', 'test.tick', {'n': n}))\n"
        "        time.sleep(0.02)\n"
        "ticker = threading.Thread(target=burst)\n"
        "ticker.start()"
    )
    wait_until(lambda: len(_ticks(hub, "test.tick")) >= 20, "the first ticks", seconds=30)
    hub.service_hold.touch()  # however soon the hub restarts it, it stays down until released
    hub.service_process().send_signal(signal.SIGKILL)  # mid-write, no goodbye
    wait_until(lambda: not hub.service_healthy(), "the service to go", seconds=10)
    # The learner keeps working while the service is away: saving and reading back.
    started = time.monotonic()
    out = ana.execute(
        f"r = cw.open_module({str(MODULE_DIR)!r}).reflection('what-empathy-means')\n"
        "t0 = time.monotonic()\n"
        "r.text.value = 'Written while the service was down.'\n"
        "assert r.save()\n"
        "print(round(time.monotonic() - t0, 2))\n"
        f"print(cw.open_module({str(MODULE_DIR)!r}).reflection('what-empathy-means').text.value)\n"
        "ticker.join()\n"
        "print(store.pending() > 0)"
    )
    save_seconds, reread, queued = out.strip().splitlines()
    assert float(save_seconds) < 1.0, "a save must not wait for an absent service"
    assert reread == "Written while the service was down."
    assert queued == "True"
    assert not hub.service_healthy()
    assert time.monotonic() - started < 60
    hub.service_hold.unlink()
    hub.wait_service(timeout=90)  # the hub restarts its managed service
    wait_until(lambda: len(_ticks(hub, "test.tick")) >= count, "the outbox to drain", seconds=40)
    assert _ticks(hub, "test.tick") == list(range(count))  # all, once each, in order
    latest = rows(
        hub,
        "SELECT value FROM events WHERE learner = 'ana' AND item = 'what-empathy-means'"
        " AND kind = 'reflection.saved' ORDER BY id DESC LIMIT 1",
    )
    assert json.loads(latest[0][0])["text"] == "Written while the service was down."
    assert ana.execute("print(store.pending())").strip() == "0"


def test_slow_service_does_not_block_the_learner(hub: Hub, kernels: dict[str, Kernel]) -> None:
    ana = kernels["ana"]
    service = hub.service_process()
    service.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        out = ana.execute(
            "t0 = time.monotonic()\n"
            "for n in range(20):\n"
            "    store.append(Event('ana', 'load', 'slow', 'test.slow', {'n': n}))\n"
            "print(round(time.monotonic() - t0, 2))"
        )
        assert float(out) < 5.0, "saves waited on a hung service"
        assert _ticks(hub, "test.slow") == []
    finally:
        service.send_signal(signal.SIGCONT)
    wait_until(lambda: len(_ticks(hub, "test.slow")) >= 20, "delivery after the pause", seconds=60)
    assert _ticks(hub, "test.slow") == list(range(20))


def test_schema_is_versioned(hub: Hub) -> None:
    versions = rows(hub, "SELECT version FROM courseware_schema ORDER BY version")
    assert versions == [(1,), (2,), (3,)]
    assert http("GET", f"{hub.service}/api/health")[1] == {"ok": True, "schema": 3}


def test_outbox_lives_in_the_learners_home(hub: Hub, kernels: dict[str, Kernel]) -> None:
    path = Path(kernels["ana"].execute("print(store.outbox.path, end='')"))
    assert path.is_relative_to(hub.root / "home" / "ana") and path.exists()
    assert os.path.getsize(path) > 0


def test_browser_signs_in_through_hub_oauth(hub: Hub) -> None:
    """A tutor's browser: hub login, then the service's OAuth round trip, then JSON by cookie."""
    jar = http_cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(f"{hub.url}/hub/login") as page:
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.read().decode())
    assert xsrf is not None
    form = urllib.parse.urlencode(
        {"username": "tess", "password": hub.env["COURSEWARE_TEST_PASSWORD"], "_xsrf": xsrf[1]}
    ).encode()
    browser.open(f"{hub.url}/hub/login", data=form).close()
    request = urllib.request.Request(
        f"{hub.url}/services/courseware/api/me", headers={"Accept": "text/html"}
    )
    with browser.open(request) as answer:  # redirects: hub authorize -> oauth_callback -> here
        me = json.loads(answer.read())
        assert answer.url.endswith("/services/courseware/api/me")
    assert me["name"] == "tess" and me["cohort_aggregates"]["groups"] == [BIG, SMALL]
    # A cross-site POST riding on the cookie, without the XSRF token, is refused.
    forged = urllib.request.Request(
        f"{hub.url}/services/courseware/api/events",
        data=json.dumps({"events": [event("tess", "x", "k", 1)]}).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        browser.open(forged)
    assert refused.value.code in (401, 403)
