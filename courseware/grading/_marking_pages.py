"""The HTML of the browser marking view (``_marking_web``): the rubric form and a saved mark.

Plain server-rendered HTML with every text escaped (the script, descriptors, comments), so
markup anyone typed is shown as text. Criteria are ``fieldset``/``legend`` radio groups with a
label per level; a saved mark is either put back into the form (a marker changing their mark) or
shown read-only (a settled script).
"""

from __future__ import annotations

import html

from ._marking_records import Mark
from ._rubric import Rubric

STYLE = """
body { font: 1rem/1.5 system-ui, sans-serif; color: #111; background: #fff; margin: 0; }
header, main { max-width: 52rem; margin: 0 auto; padding: 0.5rem 1rem; }
header { border-bottom: 1px solid #555; }
a { color: #0b4f9c; }
:focus-visible { outline: 3px solid #0b4f9c; outline-offset: 2px; }
.script { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #555;
  padding: 0.75rem; background: #f7f7f7; }
fieldset { margin: 1rem 0; border: 1px solid #555; }
legend { font-weight: bold; }
.level { display: flex; gap: 0.5rem; align-items: baseline; margin: 0.25rem 0; }
textarea { width: 100%; min-height: 4rem; font: inherit; }
button { font: inherit; padding: 0.4rem 1rem; }
.problem { border: 2px solid #a00; padding: 0.5rem; color: #700; }
.saved { border: 2px solid #060; padding: 0.5rem; color: #040; }
.read-only { border: 2px solid #555; padding: 0.5rem; }
dt { font-weight: bold; margin-top: 0.5rem; }
dd { margin-left: 1rem; white-space: pre-wrap; overflow-wrap: anywhere; }
"""

# A comment longer than this is refused (a 1 MB paste is kept whole, as every text is; far more
# than feedback needs, far less than a request that only wants to fill the book); the form keeps
# it for the marker to trim.
MAX_COMMENT = 2**20


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def form_of(mark: Mark) -> dict[str, str]:
    """A saved mark as the form's fields, to put it back into the form."""
    return {
        **{f"level-{k}": v for k, v in mark.all_levels().items()},
        **{f"comment-{k}": v for k, v in mark.comments.items()},
        "overall": mark.comment,
    }


def rubric_form(
    action: str, xsrf: str, script: str, rubric: Rubric, form: dict[str, str], button: str
) -> str:
    parts = [
        f'<form method="post" action="{esc(action)}" aria-labelledby="mark-heading">'
        f'<h2 id="mark-heading">Your mark against {esc(rubric.title)}</h2>'
        f'<input type="hidden" name="_xsrf" value="{esc(xsrf)}">'
        f'<input type="hidden" name="script" value="{esc(script)}">'
    ]
    for criterion in rubric.criteria:
        options = [
            (
                lv.id,
                lv.name + ("" if lv.points is None else f" ({lv.points:g} points)"),
                lv.descriptor,
            )
            for lv in criterion.levels
        ]
        comment_id = f"comment-{criterion.id}"
        comment = (
            f'<label for="{esc(comment_id)}">Comment on {esc(criterion.name)} (optional)'
            f'</label><textarea id="{esc(comment_id)}" name="{esc(comment_id)}">'
            f"{esc(form.get(comment_id, ''))}</textarea>"
        )
        parts.append(_group(criterion.id, criterion.name, options, form, comment))
    if rubric.overall is not None:
        top = rubric.overall.levels[-1].name
        legend = (
            f"{rubric.overall.name}: your judgement of the whole, no higher than the level at "
            "least half of the criteria reach"
        )
        levels = [(lv.id, lv.name, lv.descriptor) for lv in rubric.overall.levels]
        kinds = [(ln.id, ln.name, ln.descriptor) for ln in rubric.overall.learning]
        parts.append(_group("overall", legend, levels, form))  # parsed with the criteria's
        parts.append(_group("learning", f"Learning (judged only with {top})", kinds, form))
    parts.append(
        '<label for="overall">Overall comment</label>'
        f'<textarea id="overall" name="overall">{esc(form.get("overall", ""))}</textarea>'
        f'<p><button type="submit">{esc(button)}</button></p></form>'
    )
    return "".join(parts)


def _group(
    name: str,
    legend: str,
    options: list[tuple[str, str, str]],
    form: dict[str, str],
    extra: str = "",
) -> str:
    """A labelled radio group in a fieldset: one level per option, the form's choice checked
    (``extra``, a criterion's comment box, goes in the same fieldset)."""
    field = f"level-{name}"
    radios = []
    for value, label, descriptor in options:
        ident = f"level-{name}-{value}"
        checked = " checked" if form.get(field) == value else ""
        radios.append(
            f'<div class="level"><input type="radio" id="{esc(ident)}"'
            f' name="{esc(field)}" value="{esc(value)}"{checked}>'
            f'<label for="{esc(ident)}"><strong>{esc(label)}</strong>: '
            f"{esc(descriptor)}</label></div>"
        )
    return f"<fieldset><legend>{esc(legend)}</legend>{''.join(radios)}{extra}</fieldset>"


def read_only_mark(rubric: Rubric, mark: Mark, reason: str) -> str:
    """A settled mark as text: each criterion's level and comment, the overall judgement, and the
    one sentence saying why it cannot be changed here."""

    def name(levels: list[tuple[str, str]], chosen: str | None) -> str:
        return next((n for i, n in levels if i == chosen), chosen or "not given")

    rows = []
    for criterion in rubric.criteria:
        level = name([(lv.id, lv.name) for lv in criterion.levels], mark.levels.get(criterion.id))
        comment = mark.comments.get(criterion.id, "")
        rows.append(
            f"<dt>{esc(criterion.name)}</dt><dd>{esc(level)}</dd>"
            + (f"<dd>Comment: {esc(comment)}</dd>" if comment else "")
        )
    if rubric.overall is not None:
        overall = name([(lv.id, lv.name) for lv in rubric.overall.levels], mark.overall)
        rows.append(f"<dt>{esc(rubric.overall.name)}</dt><dd>{esc(overall)}</dd>")
        if mark.learning:
            learning = name([(ln.id, ln.name) for ln in rubric.overall.learning], mark.learning)
            rows.append(f"<dt>Learning</dt><dd>{esc(learning)}</dd>")
    rows.append(f"<dt>Overall comment</dt><dd>{esc(mark.comment) or 'none'}</dd>")
    return (
        '<section aria-labelledby="mark-heading"><h2 id="mark-heading">Your mark against '
        f'{esc(rubric.title)}</h2><p class="read-only" role="note">{esc(reason)}.</p>'
        f"<dl>{''.join(rows)}</dl></section>"
    )


def marked_list(links: list[tuple[str, str, str]]) -> str:
    """'Marked by you': (script id, its page, state) for each script with the marker's mark."""
    if not links:
        return ""
    items = "".join(
        f'<li><a href="{esc(url)}">{esc(script)}</a>{esc(state)}</li>'
        for script, url, state in links
    )
    return (
        '<section aria-labelledby="marked-heading"><h2 id="marked-heading">Marked by you</h2>'
        "<p>Open a script to see your mark and change it, until its marks are agreed.</p>"
        f"<ul>{items}</ul></section>"
    )
