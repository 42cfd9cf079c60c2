"""The notebook-facing object: ``module = courseware.open_module()`` then one call per exercise."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w

from ..content import ModuleContent, load_module
from ..store import Store
from ._after import AfterCase
from ._common import STYLE, Context, escape, markdown
from ._exercise import ExerciseView
from ._exercises import exercise_view
from ._portfolio import PortfolioExport
from ._records import CertificateView
from ._reflection import Reflection
from ._selfcheck import SelfCheck
from ._vignette import VignetteView


class ModuleView:
    """Builds the widgets for one module, all saving to the same store for the same learner."""

    def __init__(self, content: ModuleContent, context: Context) -> None:
        self.content = content
        self.context = context
        self._after: dict[str, list[AfterCase]] = {}

    @property
    def spec(self):  # type: ignore[no-untyped-def]
        return self.content.spec

    def overview(self) -> w.HTML:
        """Title facts and learning outcomes, for the top of the notebook."""
        spec = self.content.spec
        outcomes = "".join(f"<li>{escape(o.text)}</li>" for o in spec.outcomes)
        hours = f" · {spec.cpd_hours:g} CPD hours" if spec.cpd_hours else ""
        return w.HTML(
            f"{STYLE}<div class='cw-overview'><p><strong>{escape(spec.stream_title)}</strong>"
            f" · about {spec.minutes} minutes{hours}</p>{markdown(spec.summary)}"
            f"<p><strong>By the end of this module you should be able to:</strong></p>"
            f"<ul>{outcomes}</ul></div>"
        )

    def vignette(self, vignette_id: str) -> VignetteView:
        view = VignetteView(self.content.vignette(vignette_id), self.context)
        view.children = (w.HTML(STYLE), *view.children)
        view.ending_listeners.append(lambda: self._ended(vignette_id))
        return view

    def after_case(self, vignette_id: str) -> AfterCase:
        """The module's after-case section for a vignette (``after-case/<vignette-id>.md``),
        hidden until the learner reaches an ending of that case (at once if they already have)."""
        vignette = self.content.vignette(vignette_id)
        view = AfterCase(vignette, self.content.after_case(vignette_id), self.context)
        self._after.setdefault(vignette_id, []).append(view)
        return view

    def _ended(self, vignette_id: str) -> None:
        for view in self._after.get(vignette_id, []):
            view.reveal()

    def reflection(self, reflection_id: str) -> Reflection:
        view = Reflection(self.content.reflection(reflection_id), self.context)
        view.children = (w.HTML(STYLE), *view.children)
        return view

    def self_check(self) -> SelfCheck:
        """The module's multiple-choice self-check (``self_check`` in module.yaml)."""
        if not self.content.spec.self_check:
            raise KeyError(f"module {self.content.id!r} has no self_check questions")
        view = SelfCheck(list(self.content.spec.self_check), self.context)
        view.children = (w.HTML(STYLE), *view.children)
        return view

    def certificate(self) -> CertificateView:
        """The CPD certificate form, offered at the end of a module."""
        view = CertificateView(self.content, self.context)
        view.children = (w.HTML(STYLE), *view.children)
        return view

    def exercise(self, exercise_id: str, **options: str) -> ExerciseView:
        """An exercise from the module's ``exercises/`` folder, e.g. ``module.exercise("cues")``;
        a questionnaire takes ``wave="post"`` to ask the same items again as another wave."""
        return exercise_view(self.content.exercise(exercise_id), self.context, **options)

    def portfolio(self) -> PortfolioExport:
        """Links to download the learner's own reflective writing for their e-portfolio."""
        return PortfolioExport(self.context)

    def references(self) -> w.HTML:
        items = "".join(f"<li>{escape(r.citation())}</li>" for r in self.content.spec.references)
        return w.HTML(f"<div class='cw-references'><ol>{items}</ol></div>")


def open_module(
    path: str | Path = ".", *, store: Store | None = None, learner: str | None = None
) -> ModuleView:
    """Load the module in ``path`` (the notebook's folder) for the current learner."""
    content = load_module(path)
    return ModuleView(content, Context.create(content.id, store=store, learner=learner))
