"""``courseware serve``: Voila on the module folder, with our gallery as the front page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tornado.web
from voila.app import Voila

from ._gallery import render_gallery

SHARE = Path(__file__).parent / "share"


class GalleryHandler(tornado.web.RequestHandler):
    """Serves the gallery at the root of the app."""

    def initialize(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(render_gallery(self.root, base_url=self.base_url))


class CoursewareVoila(Voila):  # type: ignore[misc]
    """Voila serving a folder of modules, with the gallery in place of the file tree."""

    def init_handlers(self) -> list[Any]:
        handlers: list[Any] = super().init_handlers()
        gallery = (
            self.server_url.rstrip("/") + "/?",
            GalleryHandler,
            {"root": Path(self.root_dir), "base_url": self.base_url},
        )
        return [gallery, *handlers]


def serve_argv(
    root: Path, *, port: int = 8866, ip: str = "127.0.0.1", open_browser: bool = False
) -> list[str]:
    """Voila's command line for serving ``root``; used by :func:`serve` and by the tests."""
    return [
        str(root),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",
        "--template=courseware",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--no-browser" if not open_browser else "--Voila.open_browser=True",
    ]


def use_courseware_templates() -> None:
    """Put our Voila template on Jupyter's data path (it only adds; existing entries stay)."""
    paths = [str(SHARE), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))


def serve(
    root: str | Path,
    *,
    port: int = 8866,
    ip: str = "127.0.0.1",
    open_browser: bool = False,
    extra_args: list[str] | None = None,
) -> None:
    """Serve the modules under ``root`` until interrupted."""
    use_courseware_templates()
    app = CoursewareVoila()
    app.initialize(
        serve_argv(Path(root).resolve(), port=port, ip=ip, open_browser=open_browser)
        + list(extra_args or [])
    )
    app.start()
