"""What the browser tests share: walking a vignette in Chromium, axe-core checks, and a watch on
requests leaving the server."""

from __future__ import annotations

from collections import deque
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from courseware.content import Vignette
from courseware.widgets._common import typeset

from conftest import MODULES, VoilaServer

FOUNDATION = MODULES / "foundation-year" / "what-is-clinical-empathy"


def shortest_way_to_an_ending(vignette: Vignette, start: str | None = None) -> list[str]:
    """Choice labels leading from the start (or ``start``) to the nearest ending, worked out from
    the model; when the case has a write-first node, the nearest ending by way of one (so the
    learner writes), unless the walk starts after it."""
    start = start or vignette.spec.start
    must_write = start == vignette.spec.start and any(
        node.compose_first for node in vignette.spec.nodes.values()
    )

    def wrote(node_id: str, before: bool) -> bool:
        return before or bool(vignette.node(node_id).compose_first)

    first = (start, wrote(start, False))
    queue: deque[tuple[tuple[str, bool], list[str]]] = deque([(first, [])])
    seen = {first}
    while queue:
        (node_id, written), labels = queue.popleft()
        if vignette.node(node_id).end and (written or not must_write):
            return labels
        for _, choice in vignette.written_choices(node_id):
            state = (choice.to, wrote(choice.to, written))
            if state not in seen:
                seen.add(state)
                queue.append((state, [*labels, choice.label]))
    raise AssertionError("no ending reachable")


WRITE_FIRST = "What would you say next? Write the words you would use."


def write_first(page: Page, words: str) -> Locator:
    """At a write-first node: write ``words``, submit, and wait for the feedback (or the notice
    that it is unavailable); the options then appear. Returns the vignette."""
    scene = page.locator(".cw-vignette").first
    box = scene.get_by_role("textbox", name=WRITE_FIRST)
    expect(box).to_be_enabled(timeout=30_000)
    expect(scene.locator(".cw-choice")).to_have_count(0)  # nothing to choose before writing
    box.fill(words)
    scene.get_by_role("button", name="Submit my reply").click()
    expect(box).to_be_disabled(timeout=30_000)
    expect(scene.locator(".cw-coding, .cw-warning").first).to_be_visible(timeout=30_000)
    return scene


def walk_to_an_ending(page: Page, vignette: Vignette, words: str) -> None:
    """The shortest way to an ending by label, writing ``words`` first where the case asks."""
    node = vignette.spec.start
    for label in shortest_way_to_an_ending(vignette):
        if vignette.node(node).compose_first:
            write_first(page, words)
        page.get_by_role("button", name=typeset(label), exact=True).click()
        expect(page.locator(".cw-feedback").first).to_be_visible()
        node = next(c.to for _, c in vignette.written_choices(node) if c.label == label)


def axe_violations(page: Page, within: str | None = None) -> list[dict[str, Any]]:
    """axe-core's violations of any impact (minor to critical) on the page (or in the elements
    ``within`` selects, where the page around them is not ours, e.g. JupyterLab's own interface)."""
    results = Axe().run(page, context={"include": [[within]]} if within else None)
    return list(results.response["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    )


def watch_requests(page: Page, server: VoilaServer) -> list[str]:
    outside: list[str] = []

    def check(request: Any) -> None:
        url = request.url
        if not (
            url.startswith(server.url)
            or url.startswith(("data:", "blob:"))
            or url.startswith(server.url.replace("http", "ws", 1))
        ):
            outside.append(url)

    page.on("request", check)
    page.on("websocket", lambda ws: check(type("R", (), {"url": ws.url})()))
    return outside


WIDER_THAN_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('main *')]
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > width + 1)
    .map(e => e.tagName + '.' + e.className).slice(0, 5);
}"""
