"""Learners meet the reply coder in a real browser: ``courseware serve`` (Voila) on the curriculum,
Debian's Chromium, axe-core, and the real installed model hosted by the server (never the kernel).

A write-first node asks for the learner's words before the options; they see the codes with the
words that carry them, choose, and the debrief sets their words beside their choices. With the coder
unreachable (a port nobody listens on), the learner is told so and still finishes the case.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_helpers import (
    FOUNDATION,
    axe_violations,
    describe,
    shortest_way_to_an_ending,
    walk_to_an_ending,
    write_first,
)
from playwright.sync_api import Page, expect

from courseware.content import load_module
from courseware.widgets._common import typeset

from conftest import MODULES, VoilaServer, free_port

pytestmark = pytest.mark.browser
MODULE_PAGE = "voila/render/" + (FOUNDATION / "module.ipynb").relative_to(MODULES).as_posix()
WORDS = "Don't worry, it's probably nothing. <b>not bold</b> What's going through your mind?"


@pytest.fixture(scope="module")
def coder_down_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    dead = f"http://127.0.0.1:{free_port()}/courseware/api/feedback/code"
    server = VoilaServer(
        MODULES,
        tmp_path_factory.mktemp("coder-down") / "responses.sqlite",
        env={"COURSEWARE_CODER_URL": dead, "COURSEWARE_CODER_TOKEN": "nobody-listens"},
    )
    yield server
    server.stop()


def open_case(page: Page, server: VoilaServer) -> None:
    page.goto(server.url + MODULE_PAGE)
    restart = page.get_by_role("button", name="Start the case again")
    expect(restart).to_be_enabled(timeout=90_000)


def test_learner_writes_first_and_sees_the_codes_in_voila(
    page: Page, voila_server: VoilaServer
) -> None:
    (vignette,) = load_module(FOUNDATION).vignettes.values()
    open_case(page, voila_server)
    walk_to_an_ending(page, vignette, WORDS)
    scene = page.locator(".cw-vignette").first
    expect(scene.locator(".cw-ending")).to_be_visible()
    debrief = scene.locator(".cw-debrief")
    expect(debrief).to_contain_text("Your own words beside your choices")
    expect(debrief.locator(".cw-written")).to_have_text(WORDS)
    expect(debrief).to_contain_text("The coder found: ")
    expect(debrief).to_contain_text("Premature reassurance")
    assert scene.locator(".cw-debrief b").count() == 0  # the learner's markup is text
    assert not (found := axe_violations(page)), describe(found)


def test_the_codes_show_the_words_that_carry_them(page: Page, voila_server: VoilaServer) -> None:
    """Right after writing (a second learner's view of the same case after a restart)."""
    open_case(page, voila_server)
    scene = page.locator(".cw-vignette").first
    scene.get_by_role("button", name="Start the case again").click()  # the case was finished
    (vignette,) = load_module(FOUNDATION).vignettes.values()
    target = next(n for n, node in vignette.spec.nodes.items() if node.compose_first)
    label = next(
        c.label for _, c in vignette.written_choices(vignette.spec.start) if c.to == target
    )
    scene.get_by_role("button", name=typeset(label), exact=True).click()
    write_first(page, WORDS)
    coding = scene.locator(".cw-coding")
    expect(coding).to_contain_text("Automatic feedback on your reply")
    expect(coding).to_contain_text("not a mark")
    marks = coding.locator("mark")
    expect(marks.first).to_be_visible()
    assert "Don't worry" in " ".join(marks.all_inner_texts())
    expect(coding.locator(".cw-evidence-code").first).to_contain_text("Premature reassurance")
    expect(coding).to_contain_text("often closes the door")
    assert coding.locator("b").count() == 0
    expect(scene.locator(".cw-choice").first).to_be_visible()  # then the options
    assert not (found := axe_violations(page)), describe(found)
    page.reload()  # the coding comes back from the store, with the words
    expect(page.locator(".cw-coding mark").first).to_be_visible(timeout=90_000)
    expect(page.get_by_role("textbox", name="What would you say next?", exact=False)).to_have_value(
        WORDS
    )


def test_learner_finishes_when_the_coder_is_unavailable(
    page: Page, coder_down_server: VoilaServer
) -> None:
    (vignette,) = load_module(FOUNDATION).vignettes.values()
    open_case(page, coder_down_server)
    target = next(n for n, node in vignette.spec.nodes.items() if node.compose_first)
    label = next(
        c.label for _, c in vignette.written_choices(vignette.spec.start) if c.to == target
    )
    scene = page.locator(".cw-vignette").first
    scene.get_by_role("button", name=typeset(label), exact=True).click()
    write_first(page, WORDS)
    expect(scene.locator(".cw-warning")).to_contain_text(
        "Automatic feedback is unavailable right now"
    )
    assert scene.locator(".cw-coding").count() == 0
    assert not (found := axe_violations(page)), describe(found)
    for label in shortest_way_to_an_ending(vignette, target):  # options are shuffled: by label
        scene.get_by_role("button", name=typeset(label), exact=True).click()
        expect(scene.locator(".cw-feedback").first).to_be_visible()
    expect(scene.locator(".cw-ending")).to_be_visible()
    debrief = scene.locator(".cw-debrief")
    expect(debrief.locator(".cw-written")).to_have_text(WORDS)
    expect(debrief).to_contain_text("not coded automatically")
    assert not (found := axe_violations(page)), describe(found)
