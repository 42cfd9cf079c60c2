"""The learner's e-portfolio export: their own reflective writing as Markdown or HTML files.

The links carry the file in the page itself (a ``data:`` URL), so the download works the same in
JupyterLab and Voila and nothing is written on the server.
"""

from __future__ import annotations

import base64

import ipywidgets as w

from ..content import Format, portfolio_entries, render_portfolio
from ..store import Store
from ._common import STYLE, Context, focus_soon, heading, status

MEDIA: dict[Format, tuple[str, str]] = {
    "markdown": ("text/markdown", "md"),
    "html": ("text/html", "html"),
}


def export_portfolio(store: Store, learner: str, fmt: Format = "markdown") -> str:
    """Every piece of ``learner``'s reflective writing in the store, newest version of each."""
    return render_portfolio(portfolio_entries(store.events(learner=learner)), fmt)


def download_link(text: str, fmt: Format, name: str = "my-reflective-writing") -> str:
    media, suffix = MEDIA[fmt]
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    label = "Download as Markdown" if fmt == "markdown" else "Download as a web page (HTML)"
    return (
        f"<a class='cw-download' download='{name}.{suffix}' "
        f"href='data:{media};charset=utf-8;base64,{data}'>{label}</a>"
    )


class PortfolioExport(w.VBox):  # type: ignore[misc]
    """A button that gathers the learner's writing, then links to download it."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.button = w.Button(
            description="Prepare my e-portfolio export",
            tooltip="Gather your reflections into files you can download",
        )
        self.button.on_click(lambda _: self.prepare())
        self.links = w.HTML()
        self.status = w.HTML(status(""))
        intro = (
            "<p>Export your own reflective writing from every module (the newest version of "
            "each piece) to keep in your e-portfolio. Only you can see it.</p>"
        )
        super().__init__(
            [
                w.HTML(STYLE + heading("My e-portfolio export") + intro),
                self.button,
                self.status,
                self.links,
            ]
        )
        self.add_class("cw-portfolio")

    def prepare(self) -> dict[Format, str]:
        """Build both files and show their links; returns the texts by format."""
        store, learner = self.context.store, self.context.learner
        texts: dict[Format, str] = {fmt: export_portfolio(store, learner, fmt) for fmt in MEDIA}
        count = len(portfolio_entries(store.events(learner=learner)))
        self.links.value = (
            "<p>" + " · ".join(download_link(t, f) for f, t in texts.items()) + "</p>"
        )
        self.status.value = status(f"Ready: {count} piece{'s' if count != 1 else ''} of writing.")
        focus_soon(self.button)
        return texts
