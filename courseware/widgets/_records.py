"""The learner's record in a notebook: a progress table and the CPD certificate form."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import ipywidgets as w

from ..content import ContentError, ModuleContent, find_courses, load_course, loadable_modules
from ..progress import (
    AttachedReflection,
    CertificateNotReady,
    ModuleProgress,
    course_progress,
    learner_progress,
    module_progress,
    render_certificate,
)
from ..store import Store
from ._common import Context, escape, heading

CERTIFICATE = "certificate.issued"


def download_link(html_text: str, filename: str, label: str) -> str:
    """A link that saves ``html_text`` as a file: works in JupyterLab and in Voila alike."""
    data = base64.b64encode(html_text.encode("utf-8")).decode("ascii")
    return (
        f"<a class='cw-download' download='{escape(filename)}' "
        f"href='data:text/html;charset=utf-8;base64,{data}'>{escape(label)}</a>"
    )


class CertificateView(w.VBox):  # type: ignore[misc]
    """Name, an optional reflection to attach, and a button that makes the certificate."""

    def __init__(self, content: ModuleContent, context: Context) -> None:
        self.content = content
        self.context = context
        self.name = w.Text(
            description="Your name as it should appear on the certificate",
            style={"description_width": "initial"},
            layout=w.Layout(width="100%"),
        )
        options = [("Do not attach a reflection", "")]
        options += [(f"Attach: {p.title}", p.id) for p in content.spec.reflections]
        self.attach = w.Dropdown(
            options=options,
            value="",
            description="Reflective note",
            style={"description_width": "initial"},
        )
        self.button = w.Button(description="Create my certificate")
        self.button.on_click(lambda _: self.create())
        self.result = w.HTML()
        super().__init__(
            [
                w.HTML(heading("Your CPD certificate")),
                self.name,
                self.attach,
                self.button,
                self.result,
            ]
        )
        self.add_class("cw-certificate")

    def progress(self) -> ModuleProgress:
        events = self.context.store.events(learner=self.context.learner, module=self.content.id)
        return module_progress(self.content, events)

    def create(self, today: date | None = None) -> str | None:
        """Make the certificate and offer it for download; say what is missing if not ready."""
        progress = self.progress()
        attached = None
        if self.attach.value:
            prompt = self.content.reflection(str(self.attach.value))
            saved = self.context.history(prompt.id, "reflection.saved")
            text = str(saved[-1].value.get("text", "")) if saved else ""
            attached = AttachedReflection(prompt.title, text) if text.strip() else None
        try:
            page = render_certificate(
                self.content.spec,
                progress,
                name=self.name.value,
                issued=today or date.today(),
                reflection=attached,
            )
        except CertificateNotReady as exc:
            items = "".join(f"<li>{escape(r)}</li>" for r in exc.remaining)
            self.result.value = (
                "<div role='status'><p>Finish these parts of the module first:</p>"
                f"<ul>{items}</ul></div>"
            )
            return None
        except ValueError as exc:
            self.result.value = f"<p role='status'>{escape(str(exc))}</p>"
            return None
        self.context.record(
            "certificate",
            CERTIFICATE,
            {
                "date": (today or date.today()).isoformat(),
                "reflection_attached": attached is not None,
            },
        )
        link = download_link(
            page, f"certificate-{self.content.id}.html", "Download your certificate"
        )
        self.result.value = (
            f"<div role='status'><p>Your certificate is ready. {link} "
            "(open it in your browser and print it, or save it as PDF).</p></div>"
        )
        return page


def _modules(root: Path) -> list[ModuleContent]:
    # `courseware check` reports broken modules; a learner's page skips them
    return loadable_modules(root)


def progress_table(progress: Sequence[ModuleProgress]) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{escape(p.title)}</th>"
        f"<td>{'Completed' if p.completed else 'Started' if p.started else 'Not started'}</td>"
        f"<td>{p.minutes_spent:.0f}</td><td>{p.reflections_written}</td>"
        f"<td>{p.reflection_words}</td></tr>"
        for p in progress
    )
    return (
        "<table class='cw-progress-table'><caption>Your modules</caption><thead><tr>"
        "<th scope='col'>Module</th><th scope='col'>Status</th><th scope='col'>Minutes</th>"
        "<th scope='col'>Reflections</th><th scope='col'>Words written</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def my_progress(
    root: str | Path = ".",
    *,
    courses_root: str | Path | None = None,
    store: Store | None = None,
    learner: str | None = None,
) -> w.HTML:
    """The learner's progress through every module under ``root`` and every course."""
    root = Path(root)
    modules = _modules(root)
    context = Context.create("", store=store, learner=learner)
    progress = learner_progress(context.store, context.learner, modules)
    parts = [heading("Your progress", 2), progress_table(progress)]
    for path in find_courses(Path(courses_root) if courses_root else root.resolve().parent):
        try:
            course = load_course(path).spec
        except ContentError:
            continue
        cp = course_progress(course, progress)
        parts.append(
            f"<section class='cw-course'>{heading(course.title)}<p>{cp.completed_count} of "
            f"{cp.total} modules completed ({cp.hours_completed:.1f} hours of study).</p></section>"
        )
    return w.HTML("".join(parts))
