"""Our handlers in front of Voila's: the gallery, ``module/<id>``, the logo, admission under the
kernel cap ("room is full"), the page's shutdown beacon, kernel counts, and Voila's file tree sent
to the gallery. :class:`~._serve.CoursewareVoila` routes to them (see :mod:`._serve`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import tornado.web
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.tornado.handler import TornadoVoilaHandler

from ._access import gate_refuses, is_loopback
from ._bundle import ChunkBundle
from ._config import LOGO_TYPES
from ._gallery import GalleryEntry, gallery_entries, render_gallery
from ._kernels import CountingKernelManager, Ticket, admitted_as
from ._pages import Site


class TreeRedirectHandler(tornado.web.RequestHandler):
    """Voila's file tree: the gallery is this server's index."""

    def get(self, path: str = "") -> None:
        self.redirect(self.settings["courseware_site"].base_url)


PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'self'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)
"""Our own pages (gallery, "room is full", not found) load only this server's files, and only
this server may frame them (a module notebook's preview in JupyterLab)."""


def set_page_headers(handler: tornado.web.RequestHandler) -> None:
    handler.set_header("Content-Security-Policy", PAGE_POLICY)
    handler.set_header("X-Frame-Options", "SAMEORIGIN")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Referrer-Policy", "same-origin")


class _SiteHandler(tornado.web.RequestHandler):
    @property
    def site(self) -> Site:
        site: Site = self.settings["courseware_site"]
        return site

    def set_default_headers(self) -> None:
        set_page_headers(self)


class Gallery:
    """The modules under the served folder, re-read at most every few seconds (authors see edits
    quickly, and a course pulled a moment ago by nbgitpuller is found)."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url
        self._cache: tuple[float, list[GalleryEntry]] | None = None

    def entries(self) -> list[GalleryEntry]:
        if self._cache is not None and time.monotonic() - self._cache[0] < 5:
            return self._cache[1]
        entries = gallery_entries(self.root, self.base_url)
        self._cache = (time.monotonic(), entries)
        return entries


class GalleryHandler(_SiteHandler):
    """Serves the gallery at the root of the app; filters come as query arguments."""

    def get(self) -> None:
        if gate_refuses(self):
            return
        gallery: Gallery = self.settings["courseware_gallery"]
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(
            render_gallery(
                gallery.root,
                site=self.site,
                query=self.get_argument("q", ""),
                stream=self.get_argument("stream", ""),
                stage=self.get_argument("stage", ""),
                entries=gallery.entries(),
            )
        )


class ModuleRedirectHandler(_SiteHandler):
    """``module/<id>``: to that module's app, wherever its course was pulled under the folder."""

    def get(self, module_id: str) -> None:
        if gate_refuses(self):
            return
        gallery = self.settings["courseware_gallery"]
        entry = next((e for e in gallery.entries() if e.id == module_id), None)
        if entry is None:
            self.set_status(404)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(self.site.render("not_found.html", title="Module not found"))
            return
        self.redirect(entry.url)


class LogoHandler(_SiteHandler):
    """The configured logo; even an SVG opened on its own can run nothing (strict CSP)."""

    def get(self) -> None:
        path = self.site.config.logo_path()
        if path is None or not path.is_file():
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", LOGO_TYPES[path.suffix.lower()])
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "public, max-age=3600")
        self.finish(path.read_bytes())


def render_full_page(handler: tornado.web.RequestHandler, site: Site) -> None:
    """The friendly 'room is full' answer: 503 with Retry-After, as an accessible page."""
    handler.set_status(503)
    set_page_headers(handler)
    handler.set_header("Retry-After", "60")
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.finish(
        site.render("full.html", title="The room is full", retry_url=handler.request.uri)
    )


class ModuleHandler(TornadoVoilaHandler):  # type: ignore[misc]
    """Voila's page handler, admitting a view only while there is room for its kernel."""

    async def get(self, path: str | None = None) -> None:
        if gate_refuses(self):
            return
        manager = self.kernel_manager
        ticket: Ticket | None = None
        if isinstance(manager, CountingKernelManager) and path and path.endswith(".ipynb"):
            ticket = manager.admit()
            if ticket is None:
                self.log.warning("room is full: %s learner kernels", manager.max_kernels)
                render_full_page(self, self.settings["courseware_site"])
                return
        # Voila issue 1458: the page's shutdown beacon posts the _xsrf cookie, which Voila never
        # sets; reading the token here sets it, so closing the page shuts its kernel down.
        self.xsrf_token  # noqa: B018 - read for its side effect
        if ticket is not None:
            manager.viewed(path)  # holds refills back; makes its module hot
        try:
            with admitted_as(ticket):
                await super().get(path)
        finally:
            if ticket is not None:
                manager.release(ticket)


class ShutdownHandler(VoilaShutdownKernelHandler):  # type: ignore[misc]
    """The page's ``beforeunload`` beacon; a kernel already culled is not an error."""

    @tornado.web.authenticated
    async def post(self, kernel_id: str) -> None:
        if kernel_id in self.kernel_manager:
            self.kernel_manager.log.info("Kernel %s: its page closed, shutting it down", kernel_id)
            await self.kernel_manager.shutdown_kernel(kernel_id)
        self.set_status(204)
        self.finish()


class StatusHandler(tornado.web.RequestHandler):
    """Kernel counts (and how many scripts are joined into one) for tests, benchmarks and
    monitoring; only loopback clients may ask."""

    def get(self) -> None:
        if not is_loopback(self.request.remote_ip or ""):
            raise tornado.web.HTTPError(403)
        manager = self.settings["kernel_manager"]
        status = manager.status() if isinstance(manager, CountingKernelManager) else {}
        bundles = self.settings.get("courseware_bundle")
        joined = bundles.bundle if isinstance(bundles, ChunkBundle) else None
        status["scripts_joined"] = len(joined.covers) if joined is not None else 0
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(status))
