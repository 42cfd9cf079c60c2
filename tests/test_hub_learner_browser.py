"""A learner on the real hub, in Chromium: a link from ``courseware link`` pulls the course and opens
the module as an app; in JupyterLab the notebook offers the app and shows no code.

One hub for the module (deploy/jupyterhub_config.py with test identities, configurable-http-proxy,
the courseware service on real PostgreSQL). The course repository is a git repository the test
makes from this checkout's modules/ and courses/; nbgitpuller, inside the learner's own server,
clones it into her home. The courseware app runs there through jupyter-server-proxy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_helpers import describe
from fixtures.hub.hubtest import Hub
from helpers import wait_until
from playwright.sync_api import Browser, BrowserContext, expect

from courseware.content._course import load_course

from conftest import FIGURES, MODULES, REPO

pytestmark = [pytest.mark.hub, pytest.mark.browser]
LEARNER = "lena"
MODULE = "what-is-clinical-empathy"
COURSE = "undergraduate-year-2-empathy-thread"
LOAD = 120_000


@pytest.fixture(scope="module")
def course_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the course, as a university would host it (here: a local folder)."""
    repo = tmp_path_factory.mktemp("remote") / "empathy-course"
    junk = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.courseware.json")
    shutil.copytree(MODULES, repo / "modules", ignore=junk)
    shutil.copytree(REPO / "courses", repo / "courses", ignore=junk)
    git = ["git", "-c", "user.name=Course team", "-c", "user.email=course@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "The course"], check=True)
    return repo


@pytest.fixture(scope="module")
def hub(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    running = Hub(
        tmp_path_factory.mktemp("hub"),
        database_url=postgres.create_database("hub_learner_app"),
        groups={"nbgrader-course101": [LEARNER]},
        courses=["course101"],
    ).start()
    try:
        yield running
    finally:
        running.stop()


def link(hub: Hub, repo: Path, target: str) -> list[str]:
    """What ``courseware link`` prints, run as the course team would."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "courseware.cli", "link", target),
            *("--hub", hub.url, "--repo", str(repo), "--branch", "main", "--root", str(repo)),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.split()


def signed_in(browser: Browser, hub: Hub) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.get_by_label("Username").fill(LEARNER)
    page.get_by_label("Password").fill(hub.env["COURSEWARE_TEST_PASSWORD"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=LOAD)
    page.close()
    return context


def every_violation(page: Any) -> list[dict[str, Any]]:
    """All of axe-core's violations, whatever their impact."""
    violations: list[dict[str, Any]] = Axe().run(page).response["violations"]
    return violations


def stored(hub: Hub, kind: str) -> list[dict[str, Any]]:
    with psycopg.connect(hub.database_url) as conn:
        found = conn.execute(
            "SELECT value FROM events WHERE learner = %s AND module = %s AND kind = %s ORDER BY id",
            (LEARNER, MODULE, kind),
        ).fetchall()
    return [json.loads(value) for (value,) in found]


def test_a_module_link_lands_the_learner_in_the_app_and_keeps_her_work(
    browser: Browser, hub: Hub, course_repo: Path
) -> None:
    links = link(hub, course_repo, COURSE)  # one per module, in the course's order
    order = load_course(course_repo / "courses" / f"{COURSE}.yaml").spec.modules
    assert [u.split("urlpath=courseware%2Fmodule%2F")[1] for u in links] == list(order)
    assert all(u.startswith(f"{hub.url}/hub/user-redirect/git-pull?repo=") for u in links)
    (module_link,) = link(hub, course_repo, MODULE)
    context = signed_in(browser, hub)
    page = context.new_page()
    started = time.monotonic()
    page.goto(module_link)  # hub spawns her server, nbgitpuller clones, the app opens the module
    page.wait_for_url(f"**/user/{LEARNER}/courseware/voila/render/**", timeout=LOAD)
    choice = page.locator("button.cw-choice").first
    expect(choice).to_be_enabled(timeout=LOAD)
    FIGURES["hub_link_to_first_widget"] = f"{time.monotonic() - started:.1f} s (spawn, clone, app)"
    assert (hub.root / "home" / LEARNER / "empathy-course" / "modules").is_dir()
    expect(page).to_have_title("What is clinical empathy?")
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.locator(".cm-editor, .jp-InputArea-editor, pre code")).to_have_count(0)
    text = page.locator("body").inner_text()
    assert "import courseware" not in text and "module.vignette(" not in text
    expect(page.get_by_text("Open this module as an app")).to_have_count(0)

    label = choice.inner_text()
    choice.click()
    expect(page.locator(".cw-feedback").first).to_be_visible(timeout=30_000)
    words = "<b>Not bold</b>: he joked about the monitor, and I missed that he was frightened."
    page.locator(".cw-reflection-text textarea").first.fill(words)
    expect(page.get_by_text("Saved at").first).to_be_visible(timeout=30_000)
    violations = every_violation(page)
    assert not violations, describe(violations)

    page.reload()
    box = page.locator(".cw-reflection-text textarea").first
    expect(box).to_have_value(words, timeout=LOAD)
    expect(page.locator(".cw-vignette .cw-progress").first).to_contain_text("Step 2")
    wait_until(lambda: stored(hub, "reflection.saved"), "the reflection in PostgreSQL", seconds=30)
    assert stored(hub, "reflection.saved")[-1]["text"] == words
    steps = stored(hub, "vignette.step")
    assert steps and steps[0]["node"] and label  # her choice, stored as hers

    # The app's gallery in her server lists the pulled course's modules and its course pathways.
    page.get_by_role("link", name="Back to all modules").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinical empathy modules")
    assert page.url == f"{hub.url}/user/{LEARNER}/courseware/"
    expect(page.locator(f'a[data-module="{MODULE}"]')).to_be_visible()
    expect(page.locator(f'[data-course="{COURSE}"]')).to_be_visible()
    violations = every_violation(page)
    assert not violations, describe(violations)
    context.close()


def test_jupyterlab_offers_the_app_and_hides_code_and_author_tools(
    browser: Browser, hub: Hub, course_repo: Path
) -> None:
    home = hub.root / "home" / LEARNER
    if not (home / "empathy-course").is_dir():  # when run alone: the link pulls the course
        hub.spawn(LEARNER)
        subprocess.run(["git", "clone", "-q", str(course_repo), str(home / "empathy-course")])
    hub.spawn(LEARNER)
    context = signed_in(browser, hub)
    page = context.new_page()
    notebook = f"empathy-course/modules/foundation-year/{MODULE}/module.ipynb"
    page.goto(f"{hub.url}/user/{LEARNER}/lab/tree/{notebook}")
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.nth(5).wait_for(timeout=LOAD)
    opener = page.get_by_role("link", name="Open this module as an app")
    expect(opener).to_be_visible()
    expect(opener).to_have_attribute("href", f"/hub/user-redirect/courseware/module/{MODULE}")
    assert page.locator(".jp-CodeCell").count() >= 2  # JupyterLab draws the cells in view
    expect(page.locator(".jp-CodeCell .cm-content:visible")).to_have_count(0)
    expect(page.locator(".jp-CodeCell .jp-Placeholder-content").first).to_be_visible()
    # nbgrader's author tools are not there (learners keep their assignment list)
    expect(page.get_by_role("button", name="Validate")).to_have_count(0)
    expect(page.get_by_text("Create Assignment")).to_have_count(0)
    nbgrader = page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")
    if nbgrader.count():
        nbgrader.first.click()
        expect(page.locator(".lm-Menu-itemLabel:visible", has_text="Formgrader")).to_have_count(0)
        page.keyboard.press("Escape")
    # one click: JupyterLab treats the root-relative link as outside itself, so a new tab opens
    with context.expect_page() as opened:
        opener.click()
    app = opened.value
    expect(app.locator("button.cw-choice").first).to_be_enabled(timeout=LOAD)
    assert f"/user/{LEARNER}/courseware/voila/render/" in app.url
    app.close()
    # the launcher has the courseware card
    page.goto(f"{hub.url}/user/{LEARNER}/lab")
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="New Launcher").first.click()
    card = page.locator(".jp-LauncherCard", has_text="Courseware modules")
    expect(card).to_be_visible(timeout=LOAD)
    expect(
        page.get_by_text("Would you like to get notified about official Jupyter news?")
    ).to_have_count(0)
    context.close()
