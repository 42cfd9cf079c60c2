"""The released communication-skills notebook in a real browser: Voila on loopback, Debian's
Chromium, axe-core. A learner answers with mouse and keyboard; every answer lands in the sidecar file
nbgrader will collect, and the page has no accessibility violations of any impact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import axe_violations, describe
from helpers import wait_until
from playwright.sync_api import Page, expect

from conftest import REPO, free_port

pytestmark = pytest.mark.browser
ASSIGNMENT = "communication-skills"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "assignments", course, dirs_exist_ok=True)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NBGRADER_EXECUTION", None)
    subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT],
        cwd=course,
        env=env,
        check=True,
        capture_output=True,
    )
    home = course / "release" / ASSIGNMENT
    port = free_port()
    log = (course / "voila.log").open("w")
    server = subprocess.Popen(
        [
            str(BIN / "voila"),
            f"{ASSIGNMENT}.ipynb",
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
        ],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"voila did not start: {course / 'voila.log'}") from None
            time.sleep(0.3)
    yield url, home
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def saved(home: Path) -> dict[str, object]:
    path = home / "assessed-answers.json"
    if not path.is_file():
        return {}
    latest: dict[str, object] = {}
    for entry in json.loads(path.read_text())["entries"]:
        latest[entry["item"]] = entry["value"]
    return latest


def wait_for(home: Path, item: str, value: object) -> None:
    wait_until(
        lambda: saved(home).get(item) == value,
        lambda: f"{item} saved as {value!r} (it is {saved(home).get(item)!r})",
    )


def test_learner_answers_by_mouse_and_keyboard(page: Page, released: tuple[str, Path]) -> None:
    url, home = released
    page.goto(url, timeout=120_000)
    expect(page.locator(".cw-assessed")).to_have_count(3, timeout=120_000)

    cues = page.locator(".cw-assessed").nth(0)
    cues.get_by_label("3. Patient: A couple of months.", exact=False).check()
    cues.get_by_label("9. Patient: Yes, at the school kitchen.", exact=False).check()
    wait_for(home, "cues-breathless", {"lines": [3, 9]})

    reply = page.locator(".cw-assessed").nth(1)
    reply.get_by_label("That sounds like a frightening thing", exact=False).check()
    wait_for(home, "reply-to-worry", {"option": 2})

    compose = page.locator(".cw-assessed").nth(2).locator("textarea")
    compose.click()
    text = "I'm so sorry about your sister. =1+1 <b>What</b> worries you most?"
    page.keyboard.type(text)
    page.keyboard.press("Tab")  # leaving the box saves it
    wait_for(home, "compose-reply", {"text": text})

    # the page around the widgets is stock Voila's (in a course, JupyterLab's): not ours to fix
    violations = axe_violations(page, within=".cw-assessed")
    assert not violations, describe(violations)
    page_wide = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert not page_wide, describe(page_wide)
