"""A case with a picture, a recording, stage directions and a pause, in real Voila and Chromium:
everything shows with no request leaving the server, the pause is announced and skippable by
keyboard (and ends by itself), and axe finds no violation of any impact in the case."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_helpers import watch_requests
from playwright.sync_api import Page, expect

from conftest import FIXTURES, VoilaServer


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    root = tmp_path_factory.mktemp("modules")
    shutil.copytree(
        FIXTURES / "modules" / "media",
        root / "postgraduate" / "media",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    server = VoilaServer(root, tmp_path_factory.mktemp("store") / "responses.sqlite")
    yield server
    server.stop()


def violations(page: Page) -> list[str]:
    results = Axe().run(page, context={"include": [[".cw-vignette"]]})
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
    ]


def test_media_node_is_offline_accessible_and_pauses(page: Page, media_server: VoilaServer) -> None:
    outside = watch_requests(page, media_server)
    page.goto(media_server.url)
    page.get_by_role("link", name="A telephone call").click()
    scene = page.locator(".cw-scene")
    expect(scene.get_by_role("heading", name="The phone rings")).to_be_visible(timeout=60_000)
    # The picture, with its alt text, loaded from the page itself.
    image = scene.get_by_role("img", name="A desk telephone with its handset lifted.")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 8
    # The recording, with its transcript always on show.
    assert scene.locator("audio").evaluate("a => a.src.startsWith('data:audio/wav')")
    expect(scene.get_by_text("Son: It\u2019s about my mum. The home rang me.")).to_be_visible()
    # Stage directions, set apart and announced as such.
    stage = scene.locator(".cw-stage").first
    expect(stage).to_have_text("Stage direction: The line crackles.")
    assert stage.locator("em").evaluate("e => getComputedStyle(e).fontStyle") == "italic"
    # The pause: announced, choices held back, skipped from the keyboard.
    status = page.locator(".cw-pause[role='status']")
    expect(status).to_contain_text("Silence on the line.")
    expect(page.locator(".cw-choice")).to_have_count(0)
    assert not (found := violations(page)), "\n".join(found)
    skip = page.get_by_role("button", name="Skip the pause")
    skip.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".cw-choice")).to_have_count(2, timeout=10_000)
    expect(status).to_have_count(0)
    assert not (found := violations(page)), "\n".join(found)
    # After a reload the pause comes again, and ends by itself after its 12 seconds.
    page.reload()
    expect(page.locator(".cw-pause[role='status']")).to_be_visible(timeout=60_000)
    expect(page.locator(".cw-choice")).to_have_count(2, timeout=25_000)
    assert outside == [], f"requests left the server: {outside}"
