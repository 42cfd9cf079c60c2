"""The sharing controls in a real browser: ``courseware serve`` (Voila) and Chromium, with the
hub's store (the service away, so saves wait in the learner's outbox, as they do on a hub whose
service is restarting). Keyboard only; axe-core on the page."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import axe_violations, describe
from playwright.sync_api import Page, expect

from conftest import MODULES, REPO, ServerProcess, free_port

pytestmark = pytest.mark.browser
FOUNDATION = MODULES / "foundation-year" / "what-is-clinical-empathy"


class HubStoreVoila(ServerProcess):
    """``courseware serve`` whose kernels use the hub's store, as on a learner's hub server."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.outbox = folder / "outbox.sqlite"
        env = {
            **os.environ,
            "COURSEWARE_STORE": f"courseware+http://127.0.0.1:{free_port()}/services/courseware/",
            "COURSEWARE_OUTBOX": str(self.outbox),
            "JUPYTERHUB_API_TOKEN": "a-token-for-a-service-that-is-away",
            "JUPYTERHUB_USER": "ana",
        }
        self.log = (folder / "voila.log").open("w")
        port = ["--port", str(self.port)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "courseware.cli", "serve", str(MODULES), *port],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        self.wait_until_answering(self.url, "courseware serve")

    def kinds(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.outbox) as db:
            rows = db.execute(
                "SELECT kind, value FROM outbox WHERE kind LIKE 'reflection.%' ORDER BY seq"
            ).fetchall()
        return [(kind, json.loads(value).get("text", "")) for kind, value in rows]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStoreVoila]:
    running = HubStoreVoila(tmp_path_factory.mktemp("hub-store-voila"))
    yield running
    running.stop()


def test_share_stop_and_submit_by_keyboard(page: Page, server: HubStoreVoila) -> None:
    page.goto(
        server.url + "voila/render/" + (FOUNDATION / "module.ipynb").relative_to(MODULES).as_posix()
    )
    box = page.locator(".cw-reflection-text textarea").first
    expect(box).to_be_visible(timeout=60_000)
    sharing = page.locator(".cw-sharing").first
    expect(sharing).to_contain_text("your tutor cannot see your drafts")
    expect(sharing.get_by_role("status")).to_have_text("Private: only you can see this reflection.")
    box.fill("The version I want my tutor to read.")
    share = sharing.get_by_role("button", name="Share with my tutor")
    share.focus()
    page.keyboard.press("Enter")
    expect(sharing.get_by_role("status")).to_contain_text(
        "the version you shared, not later edits", timeout=15_000
    )
    assert ("reflection.shared", "The version I want my tutor to read.") in server.kinds()
    assert not (found := axe_violations(page)), describe(found)

    stop = sharing.get_by_role("button", name="Stop sharing")
    stop.focus()
    page.keyboard.press("Enter")
    expect(sharing.get_by_role("status")).to_contain_text("you stopped sharing", timeout=15_000)

    submit = sharing.get_by_role("button", name="Submit to my tutor…")
    submit.focus()
    page.keyboard.press("Enter")
    confirm = sharing.get_by_role("button", name="Yes, submit this version")
    expect(confirm).to_be_focused(timeout=15_000)  # focus moves to the decision
    expect(sharing).to_contain_text("Submitting is final")
    assert not (found := axe_violations(page)), describe(found)
    page.keyboard.press("Enter")
    expect(sharing.get_by_role("status")).to_contain_text(
        "Submitted to your tutor on", timeout=15_000
    )
    expect(submit).to_be_hidden()
    assert [kind for kind, _ in server.kinds() if kind != "reflection.saved"] == [
        "reflection.shared",
        "reflection.unshared",
        "reflection.submitted",
    ]
    page.reload()  # the state comes back from the learner's own saved events
    sharing = page.locator(".cw-sharing").first
    expect(sharing.get_by_role("status")).to_contain_text(
        "Submitted to your tutor on", timeout=60_000
    )
