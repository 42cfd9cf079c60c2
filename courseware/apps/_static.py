"""Static files that browsers may keep and that travel compressed.

Voila serves its ~5 MB of JavaScript with ``no-cache`` (labextensions) or no cache time at all, so
every page view revalidates about a hundred files, and nothing is compressed: a room of phones on
one wireless access point pulls megabytes each. These handlers replace Voila's for the same URLs:

* files whose URL or name carries a content hash are cached for a year (``immutable``); the rest
  for an hour, after which the browser revalidates with the ETag;
* text files (JavaScript, CSS, JSON, SVG) are gzip-compressed once per file version and the
  compressed bytes kept in memory, so compression costs nothing per request.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import tornado.web
from jupyter_server.base.handlers import FileFindHandler
from voila.static_file_handler import MultiStaticFileHandler, TemplateStaticFileHandler

YEAR = 365 * 24 * 3600
HOUR = 3600
COMPRESSIBLE = {".js", ".css", ".json", ".svg", ".map", ".txt", ".html", ".ttf", ".eot"}
HASHED_NAME = re.compile(r"[.-][0-9a-f]{16,}\.[a-z0-9]+$")
MAX_CACHE_BYTES = 64 * 1024 * 1024


class _GzipCache:
    """Compressed bytes per (path, modification time, size), least recently used out first."""

    def __init__(self, limit: int = MAX_CACHE_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self._items: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> bytes:
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        with open(path, "rb") as handle:
            data = gzip.compress(handle.read(), compresslevel=6, mtime=0)
        with self._lock:
            self._items[key] = data
            self.size += len(data)
            while self.size > self.limit and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)
        return data


GZIP_CACHE = _GzipCache()


class PreloadList:
    """The scripts a module page goes on to load, learned from the first page view after start.

    Voila's JavaScript loads in a waterfall: ``voila.js`` (at the end of the page) loads its chunks,
    which load the widget extensions, which load theirs. Each step waits for the one before. Listed
    in the page's head as ``<link rel="preload">``, every file is fetched while the kernel is still
    running the notebook, and each step of the waterfall then finds its files already there.

    The list is what module pages actually requested (by their ``Referer``) during the first
    ``window`` seconds after the first such request, then frozen: it adapts to whatever Voila and
    extensions are installed, and a later client cannot stuff it. Only files that exist and were
    served are listed, at most ``limit`` of them. ``clock`` gives the time in seconds (tests give
    their own).
    """

    def __init__(
        self,
        *,
        window: float = 20.0,
        limit: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.limit = limit
        self.urls: list[str] = []
        self.files: dict[str, str] = {}  # url -> the file served for it
        self._clock = clock
        self._started: float | None = None

    @property
    def frozen(self) -> bool:
        return self._started is not None and self._clock() - self._started > self.window

    def observe(self, handler: tornado.web.RequestHandler) -> None:
        """Note a script served to a module page (called when a static request finishes)."""
        request = handler.request
        if self.frozen or request.method != "GET" or handler.get_status() not in (200, 304):
            return
        referer = urlsplit(request.headers.get("Referer", "")).path
        if "/voila/render/" not in referer or not request.path.endswith(".js"):
            return
        if self._started is None:
            self._started = self._clock()
        if request.uri not in self.urls and len(self.urls) < self.limit:
            self.urls.append(str(request.uri))
            path = getattr(handler, "absolute_path", None)
            if isinstance(path, str):
                self.files[str(request.uri)] = path


class LearnsPreloads:
    """Report each finished request to the app's :class:`PreloadList` (if it has one)."""

    settings: Any

    def on_finish(self) -> None:
        learner = self.settings.get("courseware_preload")
        if isinstance(learner, PreloadList):
            learner.observe(self)  # type: ignore[arg-type]
        super().on_finish()  # type: ignore[misc]


class CompressingMixin:
    """Serve a cached gzip body to browsers that accept it; ranges and binary files as they are."""

    request: Any
    absolute_path: str | None

    def _wants_gzip(self) -> bool:
        cached: bool | None = getattr(self, "_cw_gzip", None)
        if cached is None:
            path = self.absolute_path or ""
            cached = (
                os.path.splitext(path)[1].lower() in COMPRESSIBLE
                and "gzip" in self.request.headers.get("Accept-Encoding", "")
                and "Range" not in self.request.headers
                and os.path.getsize(path) > 1024
            )
            self._cw_gzip = cached
        return cached

    @classmethod
    def get_content_version(cls, abspath: str) -> str:
        """The file's hash (tornado reads it through ``get_content``, which here is per request)."""
        digest = hashlib.sha512()
        with open(abspath, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
        return digest.hexdigest()

    def compute_etag(self) -> str | None:
        etag: str | None = super().compute_etag()  # type: ignore[misc]
        if etag and self._wants_gzip():
            return etag[:-1] + '-gz"'
        return etag

    def set_extra_headers(self, path: str) -> None:
        super().set_extra_headers(path)  # type: ignore[misc]
        self.set_header("Vary", "Accept-Encoding")  # type: ignore[attr-defined]
        if self._wants_gzip():
            self.set_header("Content-Encoding", "gzip")  # type: ignore[attr-defined]

    def get_content_size(self) -> int:
        if self._wants_gzip():
            return len(GZIP_CACHE.get(self.absolute_path or ""))
        size: int = super().get_content_size()  # type: ignore[misc]
        return size

    def get_content(self, abspath: str, start: int | None = None, end: int | None = None) -> Any:
        if self._wants_gzip():
            return GZIP_CACHE.get(abspath)[start:end]
        return super().get_content(abspath, start, end)  # type: ignore[misc]


def cache_seconds(request: Any, path: str) -> int:
    """A year for versioned or content-hashed files, an hour (then revalidate) for the rest."""
    if "v" in request.arguments or HASHED_NAME.search(path):
        return YEAR
    return HOUR


class StaticHandler(LearnsPreloads, CompressingMixin, MultiStaticFileHandler):  # type: ignore[misc]
    """Voila's ``/voila/static/``: its webpack chunks are named by chunk number, not content, so an
    hour's cache (then an ETag check) keeps a Voila upgrade from mixing old and new chunks for long."""

    def get_cache_time(self, path: str, modified: Any, mime_type: str) -> int:
        return cache_seconds(self.request, path)

    def set_extra_headers(self, path: str) -> None:
        super().set_extra_headers(path)
        self.set_header("Cache-Control", f"public, max-age={cache_seconds(self.request, path)}")


class TemplateStaticHandler(CompressingMixin, TemplateStaticFileHandler):  # type: ignore[misc]
    """Voila's template files (``?v=`` versioned already), compressed. A path that is not
    ``<template>/static/<file>`` is 404 (Voila's handler fails on it with 500)."""

    def parse_url_path(self, url_path: str) -> str:
        parts = url_path.split("/", 2)
        if len(parts) != 3 or parts[1] != "static" or not parts[0] or not parts[2]:
            raise tornado.web.HTTPError(404)
        path: str = super().parse_url_path(url_path)
        return path


class LabextensionsHandler(LearnsPreloads, CompressingMixin, FileFindHandler):
    """JupyterLab extensions: chunks carry ``?v=hash`` and entry points a hash in their name.
    (Voila marks them all ``no-cache``; this handler is registered without ``no_cache_paths``.)"""

    def set_headers(self) -> None:
        super().set_headers()
        seconds = cache_seconds(self.request, self.path)
        immutable = ", immutable" if seconds == YEAR else ""
        self.set_header("Cache-Control", f"public, max-age={seconds}{immutable}")


class CoursewareStaticHandler(CompressingMixin, tornado.web.StaticFileHandler):
    """Our own CSS and JavaScript: always linked with ``?v=<hash>``, so cached for a year."""

    def set_extra_headers(self, path: str) -> None:
        super().set_extra_headers(path)
        if "v" in self.request.arguments:
            self.set_header("Cache-Control", f"public, max-age={YEAR}, immutable")
