"""Learners' and markers' text shown as text in every page nbgrader renders for tutors and learners.

nbgrader's formgrader renders an autograded submission, and ``generate_feedback`` renders feedback,
with nbconvert, which passes raw HTML in Markdown cells (and in markers' comments) straight into the
page, emits raw cells and ``text/html`` outputs as they are, and loads learner-controlled widget state
into a widget manager. The formgrader page is served from the tutor's own Jupyter server, so a
learner's ``<script>`` there would run with the tutor's rights. The course's ``nbgrader_config.py``
(and the hub-wide one) therefore sets two things on ``HTMLExporter``, which both paths use:

* :func:`safe_markdown2html` as the ``markdown2html`` filter: Markdown still renders (headings,
  lists, emphasis, maths), but any HTML in it is escaped, so ``<script>`` shows as the text
  ``<script>``; ``javascript:`` and similar links are disabled, and Mermaid blocks are shown as code;
* :class:`EscapeLearnerHTML` as a preprocessor: raw cells become escaped code blocks, HTML outputs
  keep only harmless tags and attributes (others are escaped, so they show as text), JavaScript
  outputs and widget views and state are dropped (their plain-text form stays).

:func:`markdown_literal` does the same for Markdown files courseware writes (the examiner's pack).
"""

from __future__ import annotations

import html
import re
from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

# What an HTML output may keep: the markup courseware's own saved-answer views and ordinary tables
# use. Anything else (script, style, iframe, img, form, event handlers, links) is escaped.
SAFE_TAGS = frozenset(
    [
        "p",
        "div",
        "span",
        "br",
        "hr",
        "pre",
        "code",
        "em",
        "strong",
        "b",
        "i",
        "u",
        "s",
        "small",
        "sub",
        "sup",
        "blockquote",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "caption",
        "section",
    ]
)
SAFE_ATTRIBUTES = {"*": ["class", "title", "lang", "dir"], "td": ["colspan", "rowspan"]}
SAFE_ATTRIBUTES["th"] = ["colspan", "rowspan", "scope"]
DROPPED_OUTPUTS = (
    "application/javascript",
    "text/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)
_GRADE_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


def clean_html(text: str) -> str:
    """HTML with only :data:`SAFE_TAGS` and :data:`SAFE_ATTRIBUTES` kept; any other tag is escaped
    (so it is seen as text, not lost), comments are removed."""
    import bleach  # type: ignore[import-untyped]

    return str(
        bleach.clean(
            text,
            tags=SAFE_TAGS,
            attributes=SAFE_ATTRIBUTES,
            protocols=[],
            strip=False,
            strip_comments=True,
        )
    )


def _renderer_class() -> Any:
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class EscapingRenderer(IPythonRenderer):
        """nbconvert's renderer with HTML escaped and Mermaid shown as plain code."""

        def block_mermaidjs(self, code: str) -> str:
            return f"<pre><code>{html.escape(code)}</code></pre>\n"

    return EscapingRenderer


def _pass_context(func: Any) -> Any:
    from jinja2 import pass_context

    return pass_context(func)


@_pass_context
def safe_markdown2html(context: Any, source: str) -> str:
    """Markdown to HTML for nbconvert templates, with every HTML tag in the Markdown escaped.

    Set as ``c.HTMLExporter.filters = {"markdown2html": safe_markdown2html}``: it replaces
    nbconvert's filter of that name (cell attachments still show)."""
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    cell = context.get("cell", {}) if hasattr(context, "get") else {}
    attachments = cell.get("attachments", {}) if hasattr(cell, "get") else {}
    renderer = _renderer_class()(
        escape=True, allow_harmful_protocols=False, attachments=attachments or {}
    )
    return str(MarkdownWithMath(renderer=renderer).render(str(source)))


def markdown_literal(text: str) -> str:
    """``text`` as a Markdown code block, so any Markdown viewer shows it exactly as written (no HTML
    runs, no link or image loads); the fence is longer than any run of backticks inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}{'' if text.endswith(chr(10)) else chr(10)}{fence}\n"


class EscapeLearnerHTML(Preprocessor):
    """Make a notebook's raw cells, HTML outputs and widgets safe to render in a tutor's browser.

    Markdown cells are left to :func:`safe_markdown2html`, which the same configuration installs.
    Idempotent, so it may run in more than one preprocessor chain."""

    enabled = Bool(True, help="Escape learners' HTML (leave on)").tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        widgets = nb.get("metadata", {}).get("widgets")
        if widgets is not None:  # learner-controlled state a widget manager would render as HTML
            del nb.metadata["widgets"]
        return super().preprocess(nb, resources)  # type: ignore[no-untyped-call,no-any-return]

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], index: int
    ) -> tuple[Any, dict[str, Any]]:
        meta: Any = cell.get("metadata", {})
        info: Any = meta.get("nbgrader") if hasattr(meta, "get") else None
        if hasattr(info, "get"):
            grade_id = info.get("grade_id")
            if grade_id is not None and not _GRADE_ID.match(str(grade_id)):
                info["grade_id"] = html.escape(str(grade_id), quote=True)
        if cell.get("cell_type") == "raw":
            # nbconvert emits raw cells verbatim; a learner may add one. Show it as text instead.
            source = cell.get("source", "")
            cell.cell_type = "markdown"
            cell.source = markdown_literal(source if isinstance(source, str) else "".join(source))
            cell.pop("attachments", None)
            for key in ("raw_mimetype", "format"):
                meta.pop(key, None)
        for output in cell.get("outputs", []) or []:
            data = output.get("data")
            if not hasattr(data, "get"):
                continue
            for mime in DROPPED_OUTPUTS:
                data.pop(mime, None)
            if isinstance(data.get("text/html"), (str, list)):
                value = data["text/html"]
                data["text/html"] = clean_html(value if isinstance(value, str) else "".join(value))
            if "image/svg+xml" in data:  # shown as an image (no script), never inlined
                resources["should_not_encode_svg"] = False
            if not data and output.get("output_type") in {"display_data", "execute_result"}:
                data["text/plain"] = ""
        return cell, resources
