"""The escaping pieces behind the formgrader, feedback and examiner pack (browser tests in
test_grading_html_safety.py and test_hub_tutor_grading.py show them at work in Chromium)."""

from __future__ import annotations

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

from courseware.grading import EscapeLearnerHTML, load_items, safe_markdown2html
from courseware.grading._assessment import render_answer
from courseware.grading._safe_html import clean_html, markdown_literal

from conftest import REPO


def test_courseware_saved_answer_html_survives_the_allowlist() -> None:
    """Part C's saved answers reach the formgrader as HTML output; they must stay formatted."""
    items = load_items(REPO / "assignments" / "source" / "communication-skills" / "items.yaml")
    for item in items.items:
        shown = render_answer(item, None)
        assert "&lt;" not in clean_html(shown), shown
    hostile = (
        "<p>ok</p><script>alert(1)</script><img src=x onerror=alert(2)><a href='javascript:x'>l</a>"
    )
    cleaned = clean_html(hostile)
    assert cleaned.startswith("<p>ok</p>")
    assert "<script" not in cleaned and "<img" not in cleaned and "<a " not in cleaned
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cleaned  # shown as text, not dropped


def test_markdown_literal_fences_any_backticks() -> None:
    text = "```\n<script>alert(1)</script>\n````"
    block = markdown_literal(text)
    assert block.startswith("`````text\n") and block.endswith("\n`````\n")
    rendered = safe_markdown2html({}, block)
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered


def test_exporter_with_the_course_settings_escapes_every_route() -> None:
    config = Config()
    config.HTMLExporter.filters = {"markdown2html": safe_markdown2html}
    config.HTMLExporter.preprocessors = [EscapeLearnerHTML]
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Title\n\n<script>alert(1)</script>\n\n*fine* [x](javascript:alert(2))"
        ),
        nbformat.v4.new_raw_cell("<script>alert(3)</script>"),
        nbformat.v4.new_code_cell(
            "1",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    {
                        "text/html": "<b>b</b><img src=x onerror=alert(4)>",
                        "application/javascript": "alert(5)",
                        "text/plain": "plain",
                    },
                ),
            ],
        ),
        nbformat.v4.new_markdown_cell("```mermaid\n<img src=y onerror=alert(6)>\n```"),
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    body, _ = HTMLExporter(config=config).from_notebook_node(nb)
    assert "alert(" in body  # the text is there...
    for live in ("<script>alert", "<img src=x", 'href="javascript:', "<img src=y", "alert(5)"):
        assert live not in body, live  # ...but none of it is live
    assert "<em>fine</em>" in body and "<b>b</b>" in body  # Markdown and safe HTML still render
    assert "widget-state" not in body
