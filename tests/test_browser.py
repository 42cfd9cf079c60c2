"""The real thing: ``courseware serve`` on loopback, Debian's Chromium, a learner's session."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser_helpers import FOUNDATION, axe_violations, describe, walk_to_an_ending, watch_requests
from playwright.sync_api import Page, expect

from courseware.content import load_module

from conftest import FIGURES, MODULES, VoilaServer

pytestmark = pytest.mark.browser


def test_learner_session_survives_reload(page: Page, voila_server: VoilaServer) -> None:
    module = load_module(FOUNDATION)
    (vignette,) = module.vignettes.values()
    outside = watch_requests(page, voila_server)

    started = time.perf_counter()
    page.goto(voila_server.url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    FIGURES["gallery_load"] = f"{time.perf_counter() - started:.2f} s (navigation to the heading)"
    assert not (found := axe_violations(page)), describe(found)

    started = time.perf_counter()
    # the module's own card (its courses' lists link to it too)
    page.locator(f'a[data-module="{module.id}"]').click()
    first_choice = page.locator(".cw-choice").first
    expect(first_choice).to_be_enabled(timeout=60_000)
    FIGURES["module_first_widget"] = (
        f"{time.perf_counter() - started:.2f} s (click to first enabled choice)"
    )

    words = "Being listened to felt like relief. <b>not bold</b> =SUM(A1)"
    box = page.locator(".cw-reflection-text textarea").first
    expect(box).to_have_accessible_name(f"Your reflection: {module.spec.reflections[0].title}")
    box.fill(words)
    expect(page.get_by_text("Saved at").first).to_be_visible(timeout=10_000)

    walk_to_an_ending(page, vignette, "I'm here to learn. What's worrying you most right now?")
    expect(page.locator(".cw-ending")).to_be_visible()
    ending_text = page.locator(".cw-scene").inner_text()
    assert not (found := axe_violations(page)), describe(found)

    page.reload()
    box = page.locator(".cw-reflection-text textarea").first
    expect(box).to_have_value(words, timeout=60_000)
    expect(page.locator(".cw-ending")).to_be_visible()
    assert page.locator(".cw-scene").inner_text() == ending_text
    assert outside == [], f"requests left the server: {outside}"


def test_hostile_reflection_is_shown_as_text(page: Page, voila_server: VoilaServer) -> None:
    page.goto(
        voila_server.url
        + "voila/render/"
        + (FOUNDATION / "module.ipynb").relative_to(MODULES).as_posix()
    )
    box = page.locator(".cw-reflection-text textarea").nth(1)
    expect(box).to_be_visible(timeout=60_000)
    hostile = (
        "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
    )
    box.fill(hostile)
    expect(page.get_by_text("Saved at").first).to_be_visible(timeout=10_000)
    page.reload()
    box = page.locator(".cw-reflection-text textarea").nth(1)
    expect(box).to_have_value(hostile, timeout=60_000)
    assert page.title() != "pwned"
    assert page.locator("img[src=x]").count() == 0


def test_reference_files_are_readable() -> None:
    assert Path(FOUNDATION / "facilitator.md").read_text(encoding="utf-8").strip()
