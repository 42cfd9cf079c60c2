"""The HTML report and the one-page summary in real Chromium: render offline, pass axe-core, print
(the summary to exactly one A4 page), withhold small groups."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from courseware.analytics import (
    evaluate,
    save_report,
    save_summary,
    setup_from_options,
    write_demo,
)

from conftest import FIGURES, FIXTURES

pytestmark = pytest.mark.browser
EVAL = FIXTURES / "evaluation"
MIN_GROUP = 5


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data plus the bad-data export, whose cohorts (streams of one or two) must be withheld."""
    folder = tmp_path_factory.mktemp("report")
    config = write_demo(folder, 200, seed=5)
    setup = setup_from_options(
        config,
        surveys=[(str(EVAL / "bad-redcap.csv"), str(EVAL / "bad-redcap-mapping.yaml"))],
        min_group=MIN_GROUP,
    )
    evaluation = evaluate(setup)
    assert evaluation.cohorts["suppressed"].any()
    save_summary(evaluation, folder / "summary.html")
    return save_report(evaluation, folder / "report.html")


def pdf_pages(pdf: bytes) -> int:
    """Pages in a PDF Chromium wrote (page objects, not the page tree nodes)."""
    return pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of any impact, minor to critical."""
    results = Axe().run(page)
    return list(results.response["violations"])


def test_report_renders_offline_and_is_accessible(page: Page, report: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    started = time.perf_counter()
    page.goto(report.as_uri())
    expect(page.get_by_role("heading", level=1)).to_contain_text("demo data")
    FIGURES["report page load (s)"] = f"{time.perf_counter() - started:.2f}"
    assert all(u.startswith(("file:", "data:")) for u in requests), requests

    images = page.locator("figure.chart img")
    assert images.count() >= 4
    for i in range(images.count()):
        image = images.nth(i)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert len(image.get_attribute("alt") or "") > 40
        # The table behind the chart sits in the same figure.
        assert image.locator("xpath=../div/table").count() == 1

    violations = axe_violations(page)
    assert not violations, [(v["id"], v["help"]) for v in violations]

    # The hostile cell from the export is shown as text, not run or rendered.
    expect(page.get_by_text("<img src=x onerror=alert(1)>", exact=False)).to_be_visible()
    assert page.locator("img[src=x]").count() == 0


def test_report_withholds_every_small_group(page: Page, report: Path) -> None:
    page.goto(report.as_uri())
    sizes = page.locator("tr[data-n]").evaluate_all("rows => rows.map(r => Number(r.dataset.n))")
    assert sizes and min(sizes) >= MIN_GROUP
    withheld = page.locator("tr[data-suppressed]")
    assert withheld.count() > 0
    expect(withheld.first).to_contain_text(f"fewer than {MIN_GROUP} learners")
    for row in withheld.all():
        cells = row.locator("td").all_inner_texts()
        assert cells == [f"Withheld: fewer than {MIN_GROUP} learners"]


def test_report_prints_to_pdf(page: Page, report: Path, tmp_path: Path) -> None:
    page.goto(report.as_uri())
    page.emulate_media(media="print")
    assert page.locator("nav").is_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) >= 3
    (tmp_path / "report.pdf").write_bytes(pdf)


def test_report_shows_flow_design_comparison_and_coded_replies(page: Page, report: Path) -> None:
    page.goto(report.as_uri())
    flow = page.locator("#attrition figure.flow").first
    expect(flow).to_contain_text("Learners seen")
    expect(flow).to_contain_text("Scored at both waves (analysed)")
    expect(page.locator("#design")).to_contain_text("Regression to the mean")
    expect(page.locator("#comparison")).to_contain_text("ANCOVA")
    expect(page.locator("#behaviour")).to_contain_text("demo-coder-0")
    expect(page.locator("#summary li").first).to_contain_text("Hedges' g_av")
    alt = page.locator("#change-chart img").get_attribute("alt") or ""
    assert "g_av" in alt and "meta-analytic SMD of 0.5" in alt


def test_summary_is_accessible_and_prints_to_one_a4_page(
    page: Page, report: Path, tmp_path: Path
) -> None:
    summary = report.with_name("summary.html")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(summary.as_uri())
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    expect(page.get_by_role("heading", level=1)).to_contain_text("demo data")
    for heading in ("Reach", "Headline outcomes", "Caveats"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Hedges' g_av")
    expect(page.locator("main")).to_contain_text("NURSE codes per reply")
    violations = axe_violations(page)
    assert not violations, [(v["id"], v["help"]) for v in violations]
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (tmp_path / "summary.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 1
