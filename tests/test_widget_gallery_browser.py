"""The widget gallery in a real browser: ``courseware serve`` on docs/widget-gallery, Debian's
Chromium, axe-core. Every widget is used as a learner would (mouse and keyboard), focus moves to
new content after a choice, nothing leaves the server, and everything comes back after a reload.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import axe_violations, describe, watch_requests
from playwright.sync_api import Locator, Page, expect

from courseware.content import describe_techniques, load_module
from courseware.content._order import display_order
from courseware.widgets._common import typeset

from conftest import REPO, VoilaServer

pytestmark = pytest.mark.browser
GALLERY = REPO / "docs" / "widget-gallery"
CONTENT = load_module(GALLERY)
LOAD = 90_000


@pytest.fixture(scope="module")
def gallery_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    server = VoilaServer(GALLERY, tmp_path_factory.mktemp("gallery") / "responses.sqlite")
    yield server
    server.stop()


def active(page: Page) -> dict[str, Any]:
    """What has keyboard focus: its tag, its text and the exercise it sits in."""
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement;
              const box = e.closest('.cw-exercise, .cw-vignette, .cw-reflection');
              return {tag: e.tagName, text: (e.textContent || '').trim(),
                      within: box ? box.className : ''}; }"""
        )
    )


def expect_focus(page: Page, text: str, within: str) -> None:
    page.wait_for_function(
        "([t, w]) => { const e = document.activeElement;"
        " return e && (e.textContent || '').trim().startsWith(t) && !!e.closest(w); }",
        arg=[text, within],
        timeout=10_000,
    )


def section(page: Page, css: str, nth: int = 0) -> Locator:
    return page.locator(css).nth(nth)


def walk_vignette(page: Page) -> None:
    """Follow the expert's path through the night call by label, checking focus follows."""
    vignette = CONTENT.vignette("night-call")
    expert = vignette.expert_path()
    assert expert is not None
    box = section(page, ".cw-vignette")
    expect(box.locator(".cw-counters")).to_contain_text("trust in you: 1 (from 0 to 4)")
    rules = vignette.rules
    for state, index in expert.moves:
        label = vignette.node(state.node).choices[index].label
        box.get_by_role("button", name=typeset(label), exact=True).click()
        after = rules.after(state, index)
        if not rules.node(after).end:  # focus moves to the new choices (shuffled for the learner)
            expect_focus(page, "", ".cw-vignette .cw-choice")
    expect(box.locator(".cw-ending")).to_be_visible()
    expect(box.locator(".cw-debrief")).to_contain_text("You followed the expert's path")
    expect(box.locator(".cw-debrief")).to_contain_text("How the counters moved")
    expect_focus(page, "Hide the debrief", ".cw-vignette")


def test_every_widget_works_and_restores_after_reload(
    page: Page, gallery_server: VoilaServer
) -> None:
    outside = watch_requests(page, gallery_server)
    page.set_viewport_size({"width": 1100, "height": 1000})
    page.goto(gallery_server.url + "voila/render/module.ipynb")
    expect(page.locator(".cw-choice").first).to_be_enabled(timeout=LOAD)
    assert not (found := axe_violations(page)), describe(found)

    # Virtual patient: expert path, counters, debrief; then the carer's-eye case.
    walk_vignette(page)
    tom = section(page, ".cw-vignette", 1)
    expect(tom.locator(".cw-perspective")).to_contain_text("you are Tom Avery")
    tom.locator(".cw-choice").first.click()

    # ResponseChoice: keyboard only (Tab to an option, Enter), feedback in words, focus moves.
    reply = section(page, ".cw-response-choice")
    reply.get_by_role("button").first.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # the second reply on this learner's screen (the server's learner is this OS user)
    spec = CONTENT.exercise("first-reply")
    order = display_order(len(spec.options), getpass.getuser(), CONTENT.id, spec.id)  # type: ignore[union-attr]
    second = spec.options[order[1]]  # type: ignore[union-attr]
    expect(reply.locator(".cw-feedback")).to_contain_text(
        f"Technique: {describe_techniques(second.techniques)}"
    )
    expect_focus(page, "Compare all the replies", ".cw-response-choice")
    page.keyboard.press("Enter")
    expect(reply.locator(".cw-all-feedback")).to_be_visible()

    # ComposeResponse: write, submit, self-code, reveal the model replies.
    compose = section(page, ".cw-compose-response")
    compose.get_by_role("textbox").fill("That sounds exhausting. What's a normal week like?")
    compose.get_by_role("button", name="Submit my reply").click()
    naming = compose.get_by_role("checkbox", name="Naming: names the emotion the patient shows")
    expect(naming).to_be_focused(timeout=10_000)
    page.keyboard.press("Space")
    compose.get_by_role("checkbox", name="Exploring: asks to hear more about it").check()
    compose.get_by_role("button", name="Save my coding").click()
    expect_focus(page, "Show the model replies", ".cw-compose-response")
    page.keyboard.press("Enter")
    expect(compose).to_contain_text("You coded your reply as: Naming (NURSE), Exploring (NURSE)")
    # the reply coder hosted by `courseware serve`: codes, the words that carry them, agreement
    coding = compose.locator(".cw-coding")
    expect(coding).to_contain_text("What the coder found", timeout=30_000)
    expect(coding.locator("mark").first).to_be_visible()
    expect(coding).to_contain_text("Exploring: you and the coder agree it is there.")

    # CueSpotting: tick lines with the keyboard, check against the key.
    cues = section(page, ".cw-cue-spotting")
    spec = CONTENT.exercise("spot-the-cues")
    key = sorted(spec.key)  # type: ignore[union-attr]
    for number in (key[0], 2):
        cues.get_by_role("checkbox", name=f"Line {number}.", exact=False).focus()
        page.keyboard.press("Space")
    expect(cues).to_contain_text("2 lines marked")
    cues.get_by_role("button", name="Check my marks").click()
    expect(cues.locator(".cw-feedback")).to_contain_text(f"You found 1 of {len(key)} cues")
    expect_focus(page, "Explain every line", ".cw-cue-spotting")

    # LikertScale: the first item by keyboard alone, the rest by choosing options; submit.
    likert = section(page, ".cw-likert")
    selects = likert.get_by_role("combobox")
    expect(selects).to_have_count(8)
    expect(selects.first).to_have_accessible_name(
        "1. Noticing when a patient hints at a worry they have not said out loud."
    )
    selects.first.focus()
    page.keyboard.press("ArrowDown")
    expect(likert).to_contain_text("1 of 8 answered", timeout=10_000)
    for i in range(1, 8):
        selects.nth(i).select_option(label="4: Very confident")
    expect(likert).to_contain_text("8 of 8 answered")
    likert.get_by_role("button", name="Submit my answers").click()
    expect(likert).to_contain_text("Submitted: 8 of 8 answered")
    expect_focus(page, "Show a summary of my answers", ".cw-likert")

    # TimedWrite: the clock runs in the page; the word count follows the text.
    timed = section(page, ".cw-timed-write")
    timed.get_by_role("button", name="Start the 3:00 timer").click()
    expect(timed.get_by_role("textbox")).to_be_focused(timeout=10_000)
    page.keyboard.type("The corridor was green and the clock was loud.")
    expect(timed.locator(".cw-words")).to_have_text("9 words")
    expect(timed.get_by_role("timer")).to_contain_text("left")
    first_reading = timed.get_by_role("timer").inner_text()
    expect(timed.get_by_role("timer")).not_to_have_text(first_reading, timeout=5_000)

    # CloseReading and ParallelChart: notes save; identifying details get a warning in words.
    reading = section(page, ".cw-close-reading")
    reading.get_by_role("textbox").first.fill(
        "A mantelpiece behind a clock: hiding in plain sight."
    )
    expect(reading).to_contain_text("Saved at", timeout=10_000)
    chart = section(page, ".cw-parallel-chart")
    chart.get_by_role("textbox").nth(2).fill("Met Mr Brennan (943 476 5919). I felt useless.")
    expect(chart.locator(".cw-warning")).to_contain_text("an NHS number", timeout=10_000)

    # Structured reflection, then the e-portfolio export (a real download).
    reflection = section(page, ".cw-reflection")
    what = reflection.get_by_role("textbox", name="Your reflection: What?")
    what.fill("<b>not bold</b> A relative rang the ward, upset.")
    expect(reflection).to_contain_text("Saved at", timeout=10_000)
    portfolio = section(page, ".cw-portfolio")
    portfolio.get_by_role("button", name="Prepare my e-portfolio export").click()
    with page.expect_download() as info:
        portfolio.get_by_role("link", name="Download as Markdown").click()
    exported = Path(info.value.path()).read_text(encoding="utf-8")
    assert "&lt;b&gt;not bold&lt;/b&gt; A relative rang the ward" in exported
    assert "I felt useless." in exported and "A conversation this week" in exported

    assert not (found := axe_violations(page)), describe(found)

    # Reload: everything comes back from the store.
    page.reload()
    expect(page.locator(".cw-choice").first).to_be_enabled(timeout=LOAD)
    expect(section(page, ".cw-vignette").locator(".cw-debrief")).to_contain_text("Debrief")
    reply = section(page, ".cw-response-choice")
    expect(reply.get_by_role("button", name="Your choice:", exact=False)).to_be_disabled()
    compose = section(page, ".cw-compose-response")
    expect(compose.get_by_role("textbox")).to_have_value(
        "That sounds exhausting. What's a normal week like?"
    )
    expect(compose.get_by_role("textbox")).to_be_disabled()
    expect(section(page, ".cw-cue-spotting").locator(".cw-feedback")).to_contain_text(
        "You found 1 of"
    )
    likert = section(page, ".cw-likert")
    expect(likert).to_contain_text("Submitted: 8 of 8 answered")
    expect(likert.get_by_role("combobox").nth(3)).to_be_disabled()
    timed = section(page, ".cw-timed-write")
    expect(timed.get_by_role("textbox")).to_have_value(
        "The corridor was green and the clock was loud."
    )
    expect(timed.get_by_role("timer")).to_contain_text("left")
    expect(section(page, ".cw-close-reading").get_by_role("textbox").first).to_have_value(
        "A mantelpiece behind a clock: hiding in plain sight."
    )
    expect(section(page, ".cw-parallel-chart").locator(".cw-warning")).to_contain_text("NHS")
    expect(section(page, ".cw-reflection").get_by_role("textbox").first).to_have_value(
        "<b>not bold</b> A relative rang the ward, upset."
    )
    assert page.locator(".cw-reflection b").count() == 0
    assert not (found := axe_violations(page)), describe(found)
    assert outside == [], f"requests left the server: {outside}"
