"""Cases that teach, in the real page (``courseware serve``, Voila, Debian's Chromium, axe-core):
nothing meant for after a case shows before it ends, and every button label can be read whole on a
phone and at 200% zoom."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import axe_violations, describe, walk_to_an_ending
from playwright.sync_api import Browser, Page, expect

from courseware.apps._gallery import gallery_entries
from courseware.content import load_module
from courseware.content._module import AFTER_CASE_DIR

from conftest import MODULES, REPO, VoilaServer

pytestmark = pytest.mark.browser
NURSE = MODULES / "undergraduate" / "responding-with-nurse"
GALLERY = REPO / "docs" / "widget-gallery"
LOAD = 90_000
WORDS = "It sounds as if this morning has been a lot. What has it been like?"


def module_url(server: VoilaServer, module_id: str) -> str:
    entry = next(e for e in gallery_entries(MODULES) if e.id == module_id)
    return server.url + entry.url.lstrip("/")


def after_case_heading() -> str:
    """The heading the module's after-case file starts with (e.g. "After the case")."""
    content = load_module(NURSE)
    (vignette,) = content.vignettes
    first = (NURSE / AFTER_CASE_DIR / f"{vignette}.md").read_text().splitlines()[0]
    return first.lstrip("#").strip()


def test_after_case_material_appears_only_once_the_case_has_ended(
    page: Page, voila_server: VoilaServer
) -> None:
    content = load_module(NURSE)
    (vignette,) = content.vignettes.values()
    heading = after_case_heading()
    after = content.after_case(vignette.id)
    row = next(line for line in after.splitlines() if line.startswith("| ") and "---" not in line)
    secret = row.strip("| ").split("|")[0].strip().strip('"')  # the first cell of the table
    page.goto(module_url(voila_server, content.id))
    expect(page.locator(".cw-choice").first).to_be_enabled(timeout=LOAD)
    note = page.locator(".cw-after-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("opens when you reach an ending")
    assert page.get_by_role("heading", name=heading).count() == 0
    html = page.content()
    assert secret not in html, "after-case text reached the browser before the case ended"
    labels = page.locator(".cw-choice").all_inner_texts()
    assert labels and not any("'" in t or '"' in t for t in labels)  # curly, as in the scene
    assert not (found := axe_violations(page)), describe(found)

    walk_to_an_ending(page, vignette, WORDS)
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=30_000)
    expect(page.locator(".cw-after-body")).to_contain_text(secret)
    expect(note).to_be_hidden()
    assert not (found := axe_violations(page)), describe(found)

    page.reload()  # a learner who has finished sees it at once next time
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=LOAD)
    expect(page.locator(".cw-after-note")).to_be_hidden()
    assert not (found := axe_violations(page)), describe(found)


CUT_OFF = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('main button')]
    .filter(b => b.getClientRects().length && getComputedStyle(b).visibility !== 'hidden')
    .filter(b => b.scrollWidth > b.clientWidth + 1 || b.scrollHeight > b.clientHeight + 1
                 || b.getBoundingClientRect().right > width + 1)
    .map(b => `${(b.textContent || '').trim()} (${b.scrollWidth}/${b.clientWidth} wide,`
              + ` ${b.scrollHeight}/${b.clientHeight} high)`);
}"""

BROKEN_WORDS = """() => {
  const broken = [];
  for (const el of document.querySelectorAll('.cw-debrief th, .cw-step-where')) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (const m of n.data.matchAll(/\\S+/g)) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        if (r.getClientRects().length > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


@pytest.fixture(scope="module")
def gallery_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    server = VoilaServer(GALLERY, tmp_path_factory.mktemp("cases") / "responses.sqlite")
    yield server
    server.stop()


@pytest.mark.parametrize(
    "screen",
    [
        {"viewport": {"width": 320, "height": 640}},  # a phone
        {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},  # 1280 at 200%
    ],
    ids=["320px", "200pc-zoom"],
)
def test_every_button_label_is_whole_on_a_phone_and_at_200_percent(
    browser: Browser, gallery_server: VoilaServer, screen: dict[str, Any]
) -> None:
    """No label is cut off ("Start the case a…"): each button is as big as its words and fits
    the screen; the debrief's words are not broken mid-word ("St/ep")."""
    context = browser.new_context(**screen)
    page = context.new_page()
    page.goto(gallery_server.url + "voila/render/module.ipynb")
    expect(page.locator(".cw-choice").first).to_be_enabled(timeout=LOAD)
    case = page.locator(".cw-vignette").first
    expect(case.get_by_role("button", name="Start the case again")).to_be_visible()
    assert page.evaluate(CUT_OFF) == []
    for _ in range(20):  # to an ending: the debrief, its disclosure and the restart all show
        if case.locator(".cw-ending").count():
            break
        case.locator(".cw-choice").first.click()
        page.wait_for_timeout(300)
    expect(case.locator(".cw-debrief")).to_be_visible()
    expect(case.get_by_role("button", name="Hide the debrief")).to_be_visible()
    assert page.evaluate(CUT_OFF) == []
    assert page.evaluate(BROKEN_WORDS) == []
    assert not (found := axe_violations(page)), describe(found)
    case.get_by_role("button", name="Start the case again").click()
    expect(case.locator(".cw-ending")).to_have_count(0)
    context.close()
