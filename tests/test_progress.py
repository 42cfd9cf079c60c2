"""The learner's record: progress from their own events, CPD certificates, the progress page."""

from __future__ import annotations

import base64
import re
from datetime import date
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from courseware.content import load_module
from courseware.progress import (
    AttachedReflection,
    CertificateNotReady,
    module_progress,
    render_certificate,
    study_minutes,
)
from courseware.store import Event, SQLiteStore
from courseware.widgets import my_progress, open_module

from conftest import FIXTURES

DEMO = FIXTURES / "modules" / "demo"


def finish_demo(store: SQLiteStore, learner: str = "ana") -> None:
    module = open_module(DEMO, store=store, learner=learner)
    vignette = module.vignette("waiting-room")
    vignette.restart()
    vignette.choose(1, at="arrival")
    reflection = module.reflection("first-thoughts")
    reflection.autosave_delay = 0
    reflection.text.value = "She kept looking at the door.\n\nNext time I will ask."
    module.self_check().answer("open-question", 1)


def test_study_minutes_ignore_long_breaks() -> None:
    assert study_minutes([]) == 0
    assert study_minutes([0, 120, 240]) == pytest.approx(1 + 4)
    assert study_minutes([0, 120, 120 + 3 * 3600]) == pytest.approx(1 + 2 + 1)


def test_progress_follows_the_exercises(store: SQLiteStore) -> None:
    content = load_module(DEMO)
    assert not module_progress(content, []).started
    module = open_module(DEMO, store=store, learner="ana")
    module.vignette("waiting-room").choose(0, at="arrival")
    progress = module_progress(content, store.events(learner="ana", module="demo"))
    assert progress.started and not progress.completed
    assert progress.remaining == ["The waiting room", "First thoughts", "Self-check"]
    finish_demo(store)
    progress = module_progress(content, store.events(learner="ana", module="demo"))
    assert progress.completed and progress.reflections_written == 1
    assert progress.reflection_words == 11 and progress.hours_credited == pytest.approx(10 / 60)


def test_certificate_refuses_unfinished_and_escapes(store: SQLiteStore) -> None:
    content = load_module(DEMO)
    unfinished = module_progress(content, [])
    with pytest.raises(CertificateNotReady) as info:
        render_certificate(content.spec, unfinished, name="Ana", issued=date(2026, 11, 25))
    assert "Self-check" in info.value.remaining
    finish_demo(store)
    done = module_progress(content, store.events(learner="ana"))
    page = render_certificate(
        content.spec,
        done,
        name="<b>Ana</b> =SUM(A1)",
        issued=date(2026, 11, 25),
        reflection=AttachedReflection("First thoughts", "<script>x</script>\n\nSecond para"),
    )
    assert "&lt;b&gt;Ana&lt;/b&gt; =SUM(A1)" in page and "<script>x" not in page
    assert "25 November 2026" in page and "Walk a short case." in page
    assert page.count("<p>") >= 3
    with pytest.raises(ValueError, match="name"):
        render_certificate(content.spec, done, name="  ", issued=date(2026, 11, 25))


def test_certificate_widget_offers_a_download(store: SQLiteStore) -> None:
    view = open_module(DEMO, store=store, learner="ana").certificate()
    view.name.value = "Dr Ana Silva"
    assert view.create() is None and "Finish these parts" in view.result.value
    finish_demo(store)
    view.attach.value = "first-thoughts"
    page = view.create(today=date(2026, 1, 2))
    assert page is not None and "Next time I will ask." in page
    match = re.search(r"base64,([A-Za-z0-9+/=]+)", view.result.value)
    assert match and base64.b64decode(match.group(1)).decode() == page
    (issued,) = store.events(kind="certificate.issued")
    assert issued.value == {"date": "2026-01-02", "reflection_attached": True}


def test_my_progress_lists_modules_and_escapes(store: SQLiteStore, tmp_path: Path) -> None:
    finish_demo(store)
    store.append(Event("ben", "demo", "first-thoughts", "reflection.saved", {"text": "b"}))
    html = my_progress(FIXTURES / "modules", store=store, learner="ana").value
    assert "<th scope='row'>Demo module</th><td>Completed</td>" in html
    html_ben = my_progress(FIXTURES / "modules", store=store, learner="ben").value
    assert "<td>Started</td>" in html_ben


def test_certificate_page_is_accessible_and_prints(page: Page, store: SQLiteStore) -> None:
    content = load_module(DEMO)
    finish_demo(store)
    done = module_progress(content, store.events(learner="ana"))
    page.set_content(render_certificate(content.spec, done, name="Ana Silva", issued=date.today()))
    results = Axe().run(page)
    found = [(v["id"], v["impact"]) for v in results.response["violations"]]
    assert found == []  # no violation of any impact
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
