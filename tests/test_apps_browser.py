"""Module apps for real: ``courseware serve`` on loopback with a kernel cap, a preheated module and
quick reclaiming, driven by Debian's Chromium.

Every module found under ``modules/`` (however many other authors have added) is opened from the
gallery, checked with axe-core, and its first exercise is used. The kernel cap, the "room is full"
page and the reclaiming of kernels of closed pages are checked through the server's own count.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import WIDER_THAN_SCREEN, axe_violations, describe, watch_requests
from helpers import wait_until
from playwright.sync_api import Browser, BrowserContext, Page, expect

from courseware.apps import GalleryEntry, gallery_entries
from courseware.content import load_module
from courseware.store import SQLiteStore
from courseware.widgets import open_module as open_module_api

from conftest import FIGURES, MODULES, VoilaServer

pytestmark = pytest.mark.browser
CAP = 3
RECLAIM = 5
PREHEATED = "what-is-clinical-empathy"
INSTITUTION = "Stoneygate Centre for <b>Empathy</b> & Healthcare"  # markup must show as text
FIRST_EXERCISE = "button.cw-choice, .cw-reflection-text textarea"


@pytest.fixture(scope="module")
def apps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    folder = tmp_path_factory.mktemp("apps")
    (folder / "logo.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'><rect width='10' height='10'"
        " fill='#5a1e6e'/></svg>",
        encoding="utf-8",
    )
    config = folder / "courseware.yaml"
    config.write_text(
        "branding:\n"
        f"  institution: '{INSTITUTION}'\n"
        "  logo: logo.svg\n"
        "  logo_alt: Stoneygate Centre\n"
        "  colours: {brand: '#5a1e6e'}\n"
        f"serve: {{max_kernels: {CAP}, reclaim_after: {RECLAIM}, pool_size: 1,"
        f" preheat: [{PREHEATED}], hot_modules: 0}}\n",  # hot modules: hot_server below
        encoding="utf-8",
    )
    server = VoilaServer(MODULES, folder / "responses.sqlite", args=["--config", str(config)])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    """Nothing configured to preheat, no warm kernels: one hot module at a time."""
    folder = tmp_path_factory.mktemp("hot")
    config = folder / "courseware.yaml"
    config.write_text("serve: {hot_modules: 1, warm_kernels: 0}\n", encoding="utf-8")
    server = VoilaServer(MODULES, folder / "responses.sqlite", args=["--config", str(config)])
    yield server
    server.stop()


def wait_for_learner_kernels(server: VoilaServer, most: int, seconds: float) -> float:
    """Seconds until the server counts at most ``most`` learner kernels (fails after ``seconds``)."""
    started = time.monotonic()
    wait_until(
        lambda: server.status()["learner_kernels"] <= most,
        lambda: f"at most {most} learner kernels ({server.status()['learner_kernels']} live)",
        seconds=seconds,
        every=0.25,
    )
    return time.monotonic() - started


def open_module(context: BrowserContext, server: VoilaServer, entry: GalleryEntry) -> Page:
    page = context.new_page()
    page.goto(server.url + entry.url.lstrip("/"))
    expect(page.locator(FIRST_EXERCISE).first).to_be_enabled(timeout=60_000)
    return page


def use_first_exercise(page: Page) -> str:
    """Use whichever exercise comes first on the page and check that it answered."""
    first = page.locator(FIRST_EXERCISE).first
    if first.evaluate("el => el.tagName") == "BUTTON":
        label = first.inner_text()
        first.click()
        expect(page.locator(".cw-feedback").first).to_be_visible(timeout=20_000)
        return f"choice {label!r}"
    first.fill("Trying the module out from the gallery.")
    expect(page.get_by_text("Saved at").first).to_be_visible(timeout=20_000)
    return "reflection"


def test_gallery_is_branded_searchable_and_accessible(page: Page, apps_server: VoilaServer) -> None:
    outside = watch_requests(page, apps_server)
    entries = gallery_entries(MODULES)
    page.goto(apps_server.url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinical empathy modules")
    expect(page.get_by_role("banner")).to_contain_text(INSTITUTION)
    expect(page.get_by_role("img", name="Stoneygate Centre")).to_be_visible()
    expect(page.get_by_role("main")).to_have_count(1)
    assert not (found := axe_violations(page)), describe(found)
    # a course in parts: each part a heading, its modules a list named by the part and course
    spiral = page.locator('[data-course="mbchb-empathy-spiral"]')
    expect(spiral.get_by_role("heading", level=4)).to_have_count(5)
    year_3 = spiral.get_by_role("list", name="Year 3: into the clinic MBChB empathy thread")
    expect(year_3.get_by_role("link", name="Breaking bad news: SPIKES")).to_be_visible()
    # the skip link is the first thing the keyboard reaches, is visible then, and leads to main
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the modules")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0  # type: ignore[index]
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "focus must be visible"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # live search (JavaScript) narrows the cards and says how many match
    target = entries[-1]
    page.get_by_label("Search modules").fill(target.title)
    expect(page.locator(".cw-card:visible")).to_have_count(
        sum(e.matches(target.title) for e in entries)
    )
    expect(page.locator("#cw-count")).to_contain_text(f"of {len(entries)} modules match")
    page.get_by_label("Stage", exact=True).select_option(target.stage)
    expect(page.get_by_role("link", name=target.title, exact=True)).to_be_visible()
    assert outside == [], f"requests left the server: {outside}"


def test_gallery_search_works_without_javascript(
    browser: Browser, apps_server: VoilaServer
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    entries = gallery_entries(MODULES)
    stream = entries[0].stream
    page.goto(apps_server.url)
    page.get_by_label("Stream", exact=True).select_option(stream)
    page.get_by_role("button", name="Show modules").click()
    expect(page).to_have_url(f"{apps_server.url}?q=&stream={stream}&stage=")
    expect(page.locator(".cw-card")).to_have_count(sum(e.stream == stream for e in entries))
    context.close()


def test_pages_reflow_at_phone_width_and_400_percent_zoom(
    browser: Browser, apps_server: VoilaServer
) -> None:
    """320 CSS pixels is a phone, and a 1280-pixel window at 400% zoom (WCAG 1.4.10): nothing in
    the gallery or a module page may stick out sideways."""
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(apps_server.url)
    expect(page.locator(".cw-card").first).to_be_visible()
    assert page.evaluate(WIDER_THAN_SCREEN) == []
    entry = next(e for e in gallery_entries(MODULES) if e.id == PREHEATED)
    page.goto(apps_server.url + entry.url.lstrip("/"))
    expect(page.locator(FIRST_EXERCISE).first).to_be_enabled(timeout=60_000)
    assert page.evaluate(WIDER_THAN_SCREEN) == []
    page.close(run_before_unload=True)
    context.close()


@pytest.mark.timeout(900)  # every module in turn (38 today, about 5 s each on a quiet machine)
def test_every_module_opens_from_the_gallery(browser: Browser, apps_server: VoilaServer) -> None:
    """Each module: gallery link, page title and landmarks, axe-core, first exercise, no leak."""
    entries = gallery_entries(MODULES)
    assert len(entries) >= 1
    context = browser.new_context()
    gallery = context.new_page()
    gallery.goto(apps_server.url)
    opened: dict[str, str] = {}
    slowest = 0.0
    joined: list[str] = []  # modules whose page ran the learned chunks as one script
    for entry in entries:
        link = gallery.locator(f'a[data-module="{entry.id}"]')
        with context.expect_page() as new_page:
            link.click(modifiers=["Shift"])  # a window of its own, so the gallery stays
        page = new_page.value
        page.on(
            "requestfinished",
            lambda r, e=entry.id: joined.append(e) if "/courseware/chunks.js?v=" in r.url else None,
        )
        outside = watch_requests(page, apps_server)
        started = time.monotonic()
        expect(page.locator(FIRST_EXERCISE).first).to_be_enabled(timeout=60_000)
        slowest = max(slowest, time.monotonic() - started)
        expect(page).to_have_title(load_module(MODULES / Path(entry.notebook).parent).spec.title)
        expect(page.get_by_role("main")).to_have_count(1)
        expect(page.get_by_role("link", name="Skip to the module")).to_have_count(1)
        expect(page.get_by_role("navigation", name="Courseware")).to_be_visible()
        expect(page.get_by_role("banner")).to_contain_text(INSTITUTION)
        found = axe_violations(page)
        assert not found, f"{entry.id}:\n{describe(found)}"
        opened[entry.id] = use_first_exercise(page)
        assert outside == [], f"{entry.id}: requests left the server: {outside}"
        page.close(run_before_unload=True)
        # its kernel goes (by the page's shutdown beacon, or else the culler) before the next
        wait_for_learner_kernels(apps_server, 0, RECLAIM + 15)
    assert set(opened) == {e.id for e in entries}
    # the preload list freezes 20 s after the first module page; every later page has the chunks
    # in one script (and still passes axe and works, above)
    assert len(joined) >= len(entries) // 2, f"only {joined} ran the joined chunks"
    beacons = apps_server.log_path.read_text("utf-8").count("its page closed, shutting it down")
    assert beacons >= len(entries) // 2, f"only {beacons} of {len(entries)} pages' beacons worked"
    FIGURES["apps_modules_opened"] = (
        f"{len(opened)} modules (slowest first exercise {slowest:.1f} s;"
        f" {beacons} kernels shut down by their page's beacon; {len(joined)} pages with the"
        " chunks joined)"
    )
    context.close()


def test_a_preheated_kernel_shows_this_learners_latest_work(
    page: Page, apps_server: VoilaServer
) -> None:
    """The pooled kernel ran nothing of the module before the request, so a reload shows the
    words saved a moment ago, not what the store held when the kernel was warmed."""
    entry = next(e for e in gallery_entries(MODULES) if e.id == PREHEATED)
    wait_for_learner_kernels(apps_server, 0, 30)
    wait_until(lambda: apps_server.status()["pooled_kernels"] >= 1, "the pool to fill", seconds=60)
    words = f"Written at {time.time()}: being listened to felt like relief."
    page.goto(apps_server.url + entry.url.lstrip("/"))
    box = page.locator(".cw-reflection-text textarea").first
    box.fill(words)
    expect(page.get_by_text("Saved at").first).to_be_visible(timeout=10_000)
    # the next view is served from the pool
    wait_until(
        lambda: apps_server.status()["pooled_kernels"] >= 1, "the pool to refill", seconds=60
    )
    page.reload()
    expect(page.locator(".cw-reflection-text textarea").first).to_have_value(words, timeout=60_000)
    log = apps_server.log_path.read_text(encoding="utf-8")
    assert log.count("Using pre-heated kernel") >= 2


def first_reflection(module_dir: Path) -> str:
    """The id of the first reflection the module's notebook shows."""
    source = (module_dir / "module.ipynb").read_text("utf-8")
    found = re.search(r'module\.reflection\(\\?"([a-z0-9-]+)', source)
    assert found, f"no reflection in {module_dir}"
    return found[1]


def test_a_pre_run_kernel_is_not_handed_out_once_its_learner_saved_elsewhere(
    page: Page, apps_server: VoilaServer
) -> None:
    """The pooled kernel ran the module's cells before anyone asked (its widgets show the saves
    of that moment). Words the learner then saves elsewhere (another device, another tab) make it
    out of date: the next view gets a kernel that reads the saves afresh, and the pool is refilled
    with one that shows them."""
    entry = next(e for e in gallery_entries(MODULES) if e.id == PREHEATED)
    module_dir = MODULES / Path(entry.notebook).parent
    wait_for_learner_kernels(apps_server, 0, 30)
    wait_until(lambda: apps_server.status()["pooled_kernels"] >= 1, "the pool to fill", seconds=180)
    taken = apps_server.log_path.read_text("utf-8").count("Using pre-heated kernel")

    words = f"Written elsewhere at {time.time()}: I had stopped hearing the question behind hers."
    with SQLiteStore(apps_server.store_path) as store:  # as the learner's other kernel saves
        reflection = open_module_api(module_dir, store=store).reflection(
            first_reflection(module_dir)
        )
        next(iter(reflection.boxes.values())).value = words  # saved at once (no event loop)
        reflection.save()
        saved = store.latest(
            learner=reflection.context.learner,
            module=reflection.context.module,
            item=reflection.prompt.id,
            kind="reflection.saved",
        )
        assert saved is not None and saved.value["text"].startswith(words)

    page.goto(apps_server.url + entry.url.lstrip("/"))
    box = page.locator(".cw-reflection-text textarea").first
    expect(box).to_have_value(words, timeout=60_000)
    log = apps_server.log_path.read_text("utf-8")
    assert log.count("Using pre-heated kernel") == taken, "an out-of-date kernel was handed out"
    assert f"Using pre-heated kernel: {page_kernel(page)}" not in log

    # shut down and refilled once arrivals settle, from the saves as they are now
    wait_until(lambda: apps_server.status()["pooled_kernels"] >= 1, "the refill", seconds=180)
    log = apps_server.log_path.read_text("utf-8")
    assert re.search(r"pooled kernel \S+ of \S+ is out of date or gone: shutting it down", log)
    page.reload()
    expect(page.locator(".cw-reflection-text textarea").first).to_have_value(words, timeout=60_000)
    log = apps_server.log_path.read_text("utf-8")
    assert f"Using pre-heated kernel: {page_kernel(page)}" in log


def test_a_warm_kernel_serves_any_module_with_this_learners_latest_work(
    page: Page, apps_server: VoilaServer
) -> None:
    """A module nobody preheated opens in a warm kernel (imports done before the request), which
    ran nothing of the module before it was taken: a reload shows the words just saved."""
    entry = next(e for e in gallery_entries(MODULES) if e.id != PREHEATED)
    wait_for_learner_kernels(apps_server, 0, 30)
    wait_until(lambda: apps_server.status()["warm_kernels"] >= 1, "a warm kernel", seconds=90)
    words = f"Written at {time.time()}: the silence said more than the questions."
    page.goto(apps_server.url + entry.url.lstrip("/"))
    box = page.locator(".cw-reflection-text textarea").first
    box.fill(words)
    expect(page.get_by_text("Saved at").first).to_be_visible(timeout=10_000)
    # the reload is served by a warm kernel too
    wait_until(lambda: apps_server.status()["warm_kernels"] >= 1, "a warm kernel again", seconds=90)
    page.reload()
    expect(page.locator(".cw-reflection-text textarea").first).to_have_value(words, timeout=60_000)
    log = apps_server.log_path.read_text(encoding="utf-8")
    assert log.count("page view took warm kernel") >= 2


def page_kernel(page: Page) -> str:
    kernel: str = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
    )
    return kernel


def test_a_viewed_module_keeps_a_preheated_kernel_for_its_next_learner(
    browser: Browser, hot_server: VoilaServer
) -> None:
    """Nobody configured any preheating. The first view of a module makes it hot: its next view
    is served from a pool of one (already rendered, imports done), and still shows the words this
    learner saved a moment ago. Only ``hot_modules`` (here 1) stay hot: a view of another module
    drops the first one's pool and shuts its waiting kernel down."""
    entries = gallery_entries(MODULES)
    first = next(e for e in entries if e.id == PREHEATED)  # it opens with a written reflection
    second = next(e for e in entries if e.id != PREHEATED)
    notebook = first.url.split("/voila/render/", 1)[1]
    assert hot_server.status()["hot_modules"] == 0 and hot_server.status()["kernels"] == 0

    context = browser.new_context()
    page = context.new_page()
    page.goto(hot_server.url + first.url.lstrip("/"))
    words = f"Written at {time.time()}: she said nobody had asked her that before."
    page.locator(".cw-reflection-text textarea").first.fill(words)
    expect(page.get_by_text("Saved at").first).to_be_visible(timeout=30_000)
    # once arrivals settle, the module's pool fills: one kernel, waiting for its learner
    hot_server.wait_for_status(120, hot_modules=1, pooled_kernels=1, learner_kernels=1)
    assert "Using pre-heated kernel" not in hot_server.log_path.read_text("utf-8")

    page.reload()
    expect(page.locator(".cw-reflection-text textarea").first).to_have_value(words, timeout=60_000)
    pooled = page_kernel(page)
    log = hot_server.log_path.read_text("utf-8")
    assert f"Using pre-heated kernel: {pooled} for {notebook}" in log
    assert not (found := axe_violations(page)), describe(found)
    hot_server.wait_for_status(120, pooled_kernels=1)  # refilled for the next learner
    page.close(run_before_unload=True)
    hot_server.wait_for_status(30, learner_kernels=0, kernels=1)  # only the pooled one is left

    # a view of another module makes it the hot one; the first is dropped
    open_module(context, hot_server, second).close(run_before_unload=True)
    # its own pooled kernel, once refilled, is the only kernel left
    hot_server.wait_for_status(120, hot_modules=1, pooled_kernels=1, learner_kernels=0, kernels=1)
    log = hot_server.log_path.read_text("utf-8")
    dropped = re.search(rf"shutting down pooled kernel ([0-9a-f-]+) of {re.escape(notebook)}", log)
    assert dropped is not None, "the least recently viewed module kept its pool"
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(hot_server.url + f"api/kernels/{dropped[1]}", timeout=5)
    assert gone.value.code == 404

    again = open_module(context, hot_server, first)  # no longer hot: a kernel of its own
    log = hot_server.log_path.read_text("utf-8")
    assert f"Using pre-heated kernel: {page_kernel(again)}" not in log
    assert log.count("Using pre-heated kernel") == 1
    context.close()


def test_the_room_fills_up_and_kernels_come_back(
    browser: Browser, apps_server: VoilaServer
) -> None:
    """At the cap a learner gets a friendly 503 page; closed pages give their places back, by
    the shutdown beacon or (tab killed, phone asleep) by reclaiming after RECLAIM seconds."""
    entry = next(e for e in gallery_entries(MODULES) if e.id != PREHEATED)
    wait_for_learner_kernels(apps_server, 0, 30)
    contexts = [browser.new_context() for _ in range(CAP + 1)]
    pages = [open_module(c, apps_server, entry) for c in contexts[:CAP]]
    assert apps_server.status()["learner_kernels"] == CAP

    late = contexts[CAP].new_page()
    outside = watch_requests(late, apps_server)
    response = late.goto(apps_server.url + entry.url.lstrip("/"))
    assert response is not None and response.status == 503
    assert response.headers["retry-after"] == "60"
    expect(late.get_by_role("heading", level=1)).to_have_text("The room is full")
    expect(late.get_by_text("try again in a minute")).to_be_visible()
    assert not (found := axe_violations(late)), describe(found)
    assert outside == []
    assert apps_server.status()["learner_kernels"] == CAP, "a refused view starts no kernel"

    kernel = pages[0].evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
    )
    pages[0].close(run_before_unload=True)  # closed normally: the beacon
    beacon = wait_for_learner_kernels(apps_server, CAP - 1, RECLAIM + 15)
    log = apps_server.log_path.read_text("utf-8")
    assert f"Kernel {kernel}: its page closed" in log, "the shutdown beacon was refused (XSRF?)"
    late.get_by_role("link", name="Try again").click()
    expect(late.locator(FIRST_EXERCISE).first).to_be_enabled(timeout=60_000)

    for context in contexts[1:]:
        context.close()  # no beforeunload at all: only the culler can notice
    reclaimed = wait_for_learner_kernels(apps_server, 0, RECLAIM + 20)
    FIGURES["apps_kernel_reclaim"] = (
        f"{beacon:.1f} s after a closed page (beacon), {reclaimed:.1f} s after killed tabs"
        f" (reclaim_after {RECLAIM} s)"
    )
    contexts[0].close()


def test_static_files_are_cached_and_compressed(apps_server: VoilaServer) -> None:
    def head(path: str) -> Any:
        request = urllib.request.Request(
            apps_server.url + path, headers={"Accept-Encoding": "gzip"}
        )
        return urllib.request.urlopen(request, timeout=10)

    with head("voila/static/voila.js") as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert "max-age=3600" in response.headers["Cache-Control"]
        assert response.headers["ETag"]
    with head("courseware/static/courseware.css?v=1") as response:
        assert "immutable" in response.headers["Cache-Control"]
    with head("courseware/brand/logo") as response:
        assert response.headers["Content-Type"] == "image/svg+xml"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
