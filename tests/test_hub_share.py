"""Through a real JupyterHub: a learner's server is private on disk, and what they share with
their tutor (and only that) reaches the tutor's cohort page.

One hub (deploy/jupyterhub_config.py with test identities, real PostgreSQL): ana has a server
spawned by the hub and works in its kernel through the module's widgets; ben is a learner who only
drafts; tess tutors course101; tom tutors course202 only. The tutors sign in with Chromium.
"""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import axe_violations, describe
from fixtures.hub.hubtest import Hub, Kernel, http
from playwright.sync_api import Browser, Page, expect

from conftest import MODULES

pytestmark = [pytest.mark.hub, pytest.mark.browser]

MODULE_DIR = MODULES / "foundation-year" / "what-is-clinical-empathy"
COHORT = "nbgrader-course101"
GROUPS = {
    COHORT: ["ana", "ben"],
    "nbgrader-course202": ["cal"],
    "formgrade-course101": ["tess"],
    "formgrade-course202": ["tom"],
}
MARK = uuid.uuid4().hex[:8]
SHARED = (
    f"Shared{MARK}: <script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    " I noticed how quiet Mrs Adebayo went when I mentioned the scan. 😀"
)
LATER_EDIT = f"LaterEdit{MARK}"
CUES = f"CuesDraftUntilSubmitted{MARK}"
BENS_DRAFT = f"BensDraft{MARK}"


@pytest.fixture(scope="module")
def hub(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    running = Hub(
        tmp_path_factory.mktemp("hub"),
        # Unique: pytest may set this fixture up again when it regroups browser tests.
        database_url=postgres.create_database(f"hub_share_{uuid.uuid4().hex[:8]}"),
        groups=GROUPS,
        courses=["course101", "course202"],
    ).start()
    try:
        running.spawn("ana")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def ana(hub: Hub) -> Iterator[Kernel]:
    kernel = hub.kernel("ana")
    kernel.execute(
        "import os, json\nimport courseware as cw\n"
        f"module = cw.open_module({str(MODULE_DIR)!r})\n"
        "store = module.context.store"
    )
    yield kernel
    kernel.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_learner_server_and_kernel_create_private_files(hub: Hub, ana: Kernel) -> None:
    out = ana.execute(
        "def umask(pid):\n"
        "    for line in open(f'/proc/{pid}/status'):\n"
        "        if line.startswith('Umask:'):\n"
        "            return line.split()[1]\n"
        "home = os.path.expanduser('~')\n"
        "open(os.path.join(home, 'notes.txt'), 'w').write('mine')\n"
        "os.makedirs(os.path.join(home, 'my-folder'), exist_ok=True)\n"
        "from courseware.store import Event\n"
        "store.outbox.add(Event('ana', 'm', 'i', 'test.private', {}))\n"
        "print(json.dumps({'kernel': umask(os.getpid()), 'server': umask(os.getppid()),"
        " 'home': home, 'outbox': str(store.outbox.path)}))"
    )
    seen = json.loads(out)
    assert seen["kernel"] == seen["server"] == "0077"
    home = Path(seen["home"])
    assert home == hub.root / "home" / "ana"
    assert mode(home / "notes.txt") == 0o600 and mode(home / "my-folder") == 0o700
    outbox = Path(seen["outbox"])
    assert outbox.is_relative_to(home)
    for path in (outbox, outbox.with_name(outbox.name + "-wal"), outbox.parent):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def sign_in(browser: Browser, hub: Hub, user: str) -> Page:
    """A fresh browser for ``user``, signed in on the hub's own login page."""
    page = browser.new_context().new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.env["COURSEWARE_TEST_PASSWORD"])
    page.click("#login_submit")
    page.wait_for_url("**/hub/**")
    return page


def open_cohort(page: Page, hub: Hub, group: str = COHORT) -> Any:
    """The cohort page (the service's OAuth round trip happens on the way); its response."""
    return page.goto(f"{hub.url}/services/courseware/cohort/{group}")


def test_tutor_sees_what_a_learner_shares_and_only_that(
    hub: Hub, ana: Kernel, browser: Browser
) -> None:
    ana.execute(
        "r = module.reflection('what-empathy-means')\n"
        f"r.text.value = {SHARED!r}\n"
        "assert r.share()\n"
        f"r.text.value = {LATER_EDIT!r}\n"
        "r.save()\n"
        "cues = module.reflection('noticing-cues')\n"
        f"cues.text.value = {CUES!r}\n"
        "cues.save()\n"
        "assert store.flush(30)"
    )
    ben = hub.token("ben")
    draft = {
        "learner": "ben",
        "module": "what-is-clinical-empathy",
        "item": "what-empathy-means",
        "kind": "reflection.saved",
        "value": {"text": BENS_DRAFT},
        "time": 1.0e9,
    }
    assert hub.call("POST", "api/events", ben, {"events": [draft]})[0] == 200

    tess = sign_in(browser, hub, "tess")
    answer = open_cohort(tess, hub)
    assert answer is not None and answer.status == 200
    assert tess.url.endswith(f"/services/courseware/cohort/{COHORT}")
    expect(tess.get_by_role("heading", level=1)).to_have_text(f"Reflections shared by {COHORT}")
    expect(tess.get_by_role("heading", level=2, name="ana")).to_be_visible()
    shown = tess.locator("article")
    expect(shown).to_have_count(1)
    expect(shown.locator(".text")).to_have_text(SHARED)  # hostile HTML shown as text, inert
    expect(shown).to_contain_text("Shared on")
    assert tess.evaluate("window.pwned") is None
    page_text = tess.content()
    for never in (LATER_EDIT, CUES, BENS_DRAFT):
        assert never not in page_text
    violations = axe_violations(tess)
    assert not violations, describe(violations)

    # Withdrawn: gone from the tutor's page. Submitted: there, and final.
    ana.execute("assert r.unshare()\nassert store.flush(30)")
    tess.reload()
    expect(tess.locator("article")).to_have_count(0)
    expect(tess.locator("main")).to_contain_text("No learner in this group has shared")
    assert MARK not in tess.content()
    ana.execute("cues.submit(confirmed=True)\nassert store.flush(30)")
    tess.reload()
    expect(tess.locator("article")).to_have_count(1)
    expect(tess.locator("article")).to_contain_text("Submitted on")
    expect(tess.locator("article .text")).to_have_text(CUES)

    # Another course's tutor is refused, in words.
    tom = sign_in(browser, hub, "tom")
    answer = open_cohort(tom, hub)
    assert answer is not None and answer.status == 403
    expect(tom.get_by_role("heading", level=1)).to_have_text("Not available (403)")
    assert MARK not in tom.content()
    assert not axe_violations(tom)
    assert open_cohort(tom, hub, "nbgrader-course202").status == 200  # type: ignore[union-attr]
    # And a learner reading their own group's page is refused too (by token, as JSON).
    status, refusal = hub.call("GET", f"cohort/{COHORT}", ben)
    assert status == 403 and set(refusal) == {"status", "message"}, refusal
    assert http("GET", f"{hub.service}/cohort/{COHORT}")[0] in (401, 403)  # not signed in
