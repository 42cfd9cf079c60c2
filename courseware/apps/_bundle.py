"""The scripts a module page needs, in one response.

Even preloaded (see :class:`._static.PreloadList`), Voila's JavaScript is about ninety files, and a
browser fetches at most six at a time from one server: on a busy machine the page spends a second
queueing for them while its kernel is long ready. Once the preload list is frozen, its *chunks*
(webpack's ``NNNN.voila.js`` and the extensions' numbered chunks; not the entry points
``voila.js`` and ``remoteEntry.*.js``, which set up the loaders) are joined into one script, named
by its content hash and cached by browsers for a year. The page runs it in its head, before any
entry point: each chunk only registers its modules in its loader's global array, and a loader
starting later takes the chunks already there instead of fetching them. A chunk a page needs that
is not in the bundle still loads the usual way.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import tornado.web

from ._static import YEAR, PreloadList

log = logging.getLogger(__name__)

ROUTE = "courseware/chunks.js"
"""Below the server's base URL."""


def is_chunk(url: str) -> bool:
    """A webpack chunk (registers modules), not an entry point (sets up a loader)."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name.endswith(".js") and name != "voila.js" and not name.startswith("remoteEntry.")


@dataclass(frozen=True)
class Bundle:
    """The joined chunks: which URLs they stand for, their version, the bytes (plain, gzip)."""

    covers: tuple[str, ...]
    version: str
    body: bytes
    gzipped: bytes


class ChunkBundle:
    """Builds the bundle once the preload list is frozen (in a thread, off the event loop)."""

    def __init__(self, preload: PreloadList) -> None:
        self.preload = preload
        self.bundle: Bundle | None = None
        self._building = False
        self._lock = threading.Lock()

    def ready(self) -> Bundle | None:
        """The bundle if built; starts building it the first time the list is frozen."""
        if self.bundle is None and self.preload.frozen:
            with self._lock:
                start, self._building = not self._building, True
            if start:
                threading.Thread(target=self.build, name="courseware-bundle", daemon=True).start()
        return self.bundle

    def build(self) -> Bundle | None:
        """Join the chunks' files in the order pages asked for them; ``None`` if there are none
        (or one cannot be read: then pages keep their preloads)."""
        covers: list[str] = []
        parts: list[bytes] = []
        for url in self.preload.urls:
            path = self.preload.files.get(url)
            if path is None or not is_chunk(url):
                continue
            try:
                with open(path, "rb") as handle:
                    parts.append(handle.read())
            except OSError as exc:
                log.warning("no script bundle: %s", exc)
                return None
            covers.append(url)
        if len(covers) < 2:
            return None
        body = b"\n;\n".join(parts) + b"\n"
        self.bundle = Bundle(
            tuple(covers),
            hashlib.sha256(body).hexdigest()[:20],
            body,
            gzip.compress(body, compresslevel=6, mtime=0),
        )
        log.info(
            "%d scripts joined into one (%d bytes gzipped)", len(covers), len(self.bundle.gzipped)
        )
        return self.bundle

    def page_metadata(self) -> dict[str, object] | None:
        """What a page's template needs: the bundle's address below the base URL and the
        preloads it replaces (``None``: not built yet, the page keeps its preloads)."""
        bundle = self.ready()
        if bundle is None:
            return None
        return {"src": f"{ROUTE}?v={bundle.version}", "covers": list(bundle.covers)}


class ChunkBundleHandler(tornado.web.RequestHandler):
    """``GET courseware/chunks.js?v=VERSION``: the bundle (gzipped for browsers that accept it),
    cached for a year; any other version is 404, so an old page never runs new chunks."""

    def get(self) -> None:
        bundles = self.settings.get("courseware_bundle")
        bundle = bundles.bundle if isinstance(bundles, ChunkBundle) else None
        if bundle is None or self.get_query_argument("v", "") != bundle.version:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", f"public, max-age={YEAR}, immutable")
        self.set_header("Vary", "Accept-Encoding")
        self.set_header("X-Content-Type-Options", "nosniff")
        if "gzip" in self.request.headers.get("Accept-Encoding", ""):
            self.set_header("Content-Encoding", "gzip")
            self.finish(bundle.gzipped)
        else:
            self.finish(bundle.body)
