"""HTML for the vignette's extras: perspective banner, counters, feedback and the debrief.

Everything is words first: a counter is "Rapport: 2 of 4" (a meter only adds to it), feedback names
the technique, and the debrief's tables say "yes"/"no" rather than relying on colour.
"""

from __future__ import annotations

from ..content import Debrief, DebriefStep, Vignette, Walk, describe_techniques
from ._common import escape, markdown, quoted, tags


def perspective_html(vignette: Vignette) -> str:
    """The "walk a mile" banner: whose shoes the learner is in."""
    perspective = vignette.spec.perspective
    if perspective is None:
        return ""
    intro = markdown(perspective.intro) if perspective.intro else ""
    return (
        "<div class='cw-perspective'><p><strong>Walk a mile in their shoes.</strong> In this "
        f"case you are {escape(perspective.character)}, the {escape(perspective.role)}. The story "
        f"is told from their side; your choices are theirs.</p>{intro}</div>"
    )


def counters_html(vignette: Vignette, walk: Walk) -> str:
    """The counters the author shows, as words (and a meter when the range is known)."""
    shown = []
    for name, value in walk.counters.items():
        counter = vignette.spec.counters[name]
        if not counter.shown:
            continue
        label = escape(counter.label)
        if counter.min is not None and counter.max is not None:
            words = f"{label}: {value} (from {counter.min} to {counter.max})"
            meter = (
                f" <meter min='{counter.min}' max='{counter.max}' value='{value}' "
                f"aria-label='{label}'>{value}</meter>"
            )
        else:
            words, meter = f"{label}: {value}", ""
        shown.append(f"<span class='cw-counter'>{words}{meter}</span>")
    if not shown:
        return ""
    return f"<div class='cw-counters' role='group' aria-label='Counters'>{''.join(shown)}</div>"


def _changes(vignette: Vignette, walk: Walk) -> str:
    if len(walk.states) < 2:
        return ""
    before = vignette.rules.values(walk.states[-2])
    moved = []
    for name, value in walk.counters.items():
        counter = vignette.spec.counters[name]
        delta = value - before[name]
        if counter.shown and delta:
            moved.append(f"{counter.label} {'up' if delta > 0 else 'down'} by {abs(delta)}")
    return "; ".join(moved)


def feedback_html(vignette: Vignette, walk: Walk) -> str:
    """Feedback on the last choice, the techniques it used, and how the shown counters moved."""
    if not walk.steps:
        return ""
    step = walk.steps[-1]
    choice = vignette.node(step.node).choices[step.choice]
    parts = ["<p><strong>Feedback on your last choice:</strong></p>"]
    if choice.feedback:
        parts.append(markdown(choice.feedback))
    if choice.techniques:
        parts.append(f"<p>Technique: {escape(describe_techniques(choice.techniques))}.</p>")
    moved = _changes(vignette, walk)
    if moved:
        parts.append(f"<p>{escape(moved)}.</p>")
    return (
        f"<div class='cw-feedback' role='status' aria-live='polite'>{''.join(parts)}</div>"
        if len(parts) > 1
        else ""
    )


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _written_codes(codes: tuple[str, ...] | None) -> str:
    from ..feedback import CODE_TITLES

    if codes is None:
        return "Your words were not coded automatically (the coder was unavailable)."
    if not codes:
        return "The coder found none of the ten codes in your words."
    return "The coder found: " + ", ".join(CODE_TITLES.get(c, c) for c in codes) + "."


def _comment(title: str, text: str | None) -> str:
    if not text:
        return ""
    return f"<div class='cw-comment'><p><strong>{title}</strong></p>{markdown(text)}</div>"


def _step_html(step: DebriefStep) -> str:
    """One step of the learner's path, set against the expert's choice at the same point; where
    they differ, the expert's own comment is shown (that is where it teaches most)."""
    parts = [
        f"<p class='cw-step-where'><strong>Step {step.number}: {escape(step.node_title)}</strong></p>",
        f"<p>You chose: {quoted(step.label)} {tags(step.techniques)}</p>",
    ]
    if step.matched_expert is True:
        parts.append("<p>The expert chose the same.</p>")
        parts.append(_comment("Expert's comment:", step.comment))
    elif step.matched_expert is False:
        parts.append(
            f"<p>The expert chose: {quoted(step.expert_label or '')} "
            f"{tags(step.expert_techniques)}</p>"
        )
        parts.append(_comment("Expert's comment on their choice:", step.expert_comment))
        parts.append(_comment("Expert's comment on your choice:", step.comment))
    else:
        parts.append(_comment("Comment:", step.comment))
    if step.opportunity_taken is not None:
        verdict = "you took it up" if step.opportunity_taken else "you let it pass"
        parts.append(f"<p>Empathic opportunity: {escape(step.opportunity or '')} ({verdict}).</p>")
    return f"<li class='cw-step'>{''.join(parts)}</li>"


def debrief_html(debrief: Debrief) -> str:
    """The end-of-case debrief: path against the expert's, opportunities, counters, a prompt."""
    out = ["<section class='cw-debrief' aria-label='Debrief'><h4 class='cw-heading'>Debrief</h4>"]
    out.append(
        f"<p>You made {len(debrief.steps)} choice{'s' if len(debrief.steps) != 1 else ''} and "
        f"reached: <strong>{escape(debrief.ending_title)}</strong>.</p>"
    )
    if debrief.expert_path is not None:
        if debrief.followed_expert:
            out.append("<p>You followed the expert's path all the way.</p>")
        else:
            out.append(
                f"<p>Where the expert made a choice you also faced, you chose as they did "
                f"{debrief.expert_matches} of {debrief.expert_points} times. The expert's path: "
                + " → ".join(quoted(label) for label in debrief.expert_labels)
                + ".</p>"
            )
    taken, missed = debrief.opportunities_taken, debrief.opportunities_missed
    if taken or missed:
        out.append(
            f"<p>Empathic opportunities: you took up {len(taken)} and missed {len(missed)}.</p>"
        )
        for name, steps in (("Taken up", taken), ("Missed", missed)):
            if steps:
                items = "".join(
                    f"<li>Step {s.number}: {escape(s.opportunity or '')}</li>" for s in steps
                )
                out.append(f"<p>{name}:</p><ul class='cw-opportunities'>{items}</ul>")
    if debrief.steps:
        items = "".join(_step_html(s) for s in debrief.steps)
        out.append(
            f"<h5 class='cw-heading'>Your path, step by step</h5><ol class='cw-path'>{items}</ol>"
        )
    written = [s for s in debrief.steps if s.written is not None]
    if written:
        items = "".join(
            f"<li><p><strong>{escape(s.node_title)}.</strong> You wrote: "
            f"<q class='cw-written'>{escape(s.written or '')}</q></p>"
            f"<p>Then you chose: {quoted(s.label)} {tags(s.techniques)}</p>"
            f"<p>{escape(_written_codes(s.written_codes))}</p></li>"
            for s in written
        )
        out.append(
            f"<p>Your own words beside your choices:</p><ul class='cw-written-list'>{items}</ul>"
        )
    if debrief.trajectory:
        lines = "".join(
            f"<tr><th scope='row'>{escape(debrief.counter_labels[name])}</th>"
            f"<td>{' → '.join(str(v) for v in values)}</td></tr>"
            for name, values in debrief.trajectory.items()
        )
        out.append(
            "<table><caption>How the counters moved</caption><thead><tr><th scope='col'>Counter"
            f"</th><th scope='col'>Start → each step</th></tr></thead><tbody>{lines}</tbody></table>"
        )
    if debrief.experienced:
        felt = "".join(
            f"<li>{escape(title)}: {tags(found)}</li>" for title, found in debrief.experienced
        )
        out.append(f"<p>What the clinicians did, as you experienced it:</p><ul>{felt}</ul>")
    out.append(
        f"<div class='cw-reflect'><p><strong>Reflect.</strong></p>{markdown(debrief.reflect)}"
    )
    out.append("</div></section>")
    return "".join(out)
