"""``courseware serve``: Voila on the module folder, with our gallery, limits and caching.

:class:`CoursewareVoila` is Voila with a few handlers put in front of its own (tornado takes the
first route that matches):

* ``/`` the gallery; ``/courseware/static/`` our CSS and JS; ``/courseware/brand/logo``;
* ``/module/<id>``: a redirect to that module's app, wherever it lies under the served folder
  (what learners' hub links and a module notebook's "open as an app" link point at);
* ``/voila/render/...`` Voila's page handler behind an admission check (the kernel cap) that sends
  an accessible "room is full" page (503, ``Retry-After``) instead of starting another kernel, and
  that sets the ``_xsrf`` cookie the page's shutdown beacon needs (Voila issue 1458: without the
  cookie the beacon's POST is refused and the kernel of every closed page leaks);
* ``/voila/api/shutdown/<id>``: the beacon's target, quiet when the kernel is already gone;
* ``/voila/static/``, ``/voila/labextensions/``, ``/voila/templates/``: cached and compressed;
* ``/courseware/api/status``: kernel counts as JSON, answered only to loopback clients;
* ``/courseware/api/feedback/code``: the reply coder for this server's kernels (one model per
  server, loaded on first use; kernels get its address and token in their environment);
* ``/voila/tree``: to the gallery (Voila's file tree is not for learners, and loads a CDN).

The HTTP server refuses a body over :data:`MAX_BODY` from its ``Content-Length`` before reading
it (tornado's default, 100 MB, would let one request stall the loop and take the memory), and a
gate (:func:`~._access.install_gate`, used by seminars) decides on every request before any
handler runs. The handlers themselves are in :mod:`._handlers`.

Every route is below ``base_url`` (``/`` alone; ``/user/<name>/courseware/`` inside a learner's
server on JupyterHub, where jupyter-server-proxy runs this server: see :mod:`._proxy`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tornado.ioloop
from jupyter_server.utils import url_path_join
from traitlets.config import Config
from voila.app import Voila, _kernel_id_regex

from ..content import loadable_modules
from ..feedback import ROUTE as CODER_ROUTE
from ..feedback import TokenCodeHandler, advertise, readvertise, shared_host
from ._access import install_gate, is_loopback
from ._bundle import ROUTE as BUNDLE_ROUTE
from ._bundle import ChunkBundle, ChunkBundleHandler
from ._config import AppConfig, AppsError
from ._handlers import (
    Gallery,
    GalleryHandler,
    LogoHandler,
    ModuleHandler,
    ModuleRedirectHandler,
    ShutdownHandler,
    StatusHandler,
    TreeRedirectHandler,
)
from ._kernels import CountingKernelManager
from ._launch import DEFAULT_IP, DEFAULT_PORT
from ._pages import STATIC, Site
from ._pools import kernel_manager_class
from ._prelaunch import kernel_environment, make_prelaunch_hook
from ._proxy import guard, take_token
from ._saved_work import SavedWork
from ._static import (
    CoursewareStaticHandler,
    LabextensionsHandler,
    PreloadList,
    StaticHandler,
    TemplateStaticHandler,
)

SHARE = Path(__file__).parent / "share"
NOT_NEEDED_EXTENSIONS = [
    "@jupyter/nbgrader",  # nbgrader's JupyterLab panels: no use in a standalone app
    "@jupyter-notebook/lab-extension",  # Notebook 7's menus
    "jupyterlab_pygments",  # code highlighting; our apps strip all code
]
"""JupyterLab extensions Voila would load into every page (12 requests) that module apps never use."""
MAX_BODY = 1024 * 1024
"""Largest HTTP request body: the reply coder's requests (256 KB) are the largest we expect."""
ALLOWED_MESSAGES = [
    "comm_open",
    "comm_close",
    "comm_msg",
    "comm_info_request",
    "kernel_info_request",
    "shutdown_request",
]


class CoursewareVoila(Voila):  # type: ignore[misc]
    """Voila serving a folder of modules: gallery, kernel cap, preheating, caching.

    Set :attr:`courseware_config` (branding and limits) and, for a seminar,
    :attr:`extra_handlers` before :meth:`initialize`.
    """

    courseware_config: AppConfig = AppConfig()
    extra_handlers: Sequence[Any] = ()
    extra_settings: dict[str, Any] = {}  # noqa: RUF012 - replaced, never mutated
    proxy_token: str | None = None
    saved_work: SavedWork | None = None

    def listen(self) -> None:
        """Listen (and run until stopped) with real body limits; behind jupyter-server-proxy,
        only for the proxy."""
        install_gate(self.app, self.server_url)
        if self.proxy_token:
            guard(self.app, self.proxy_token, self.server_url)
        listen = self.app.listen
        # Voila calls app.listen(port, ip): the limits must reach the HTTPServer it makes (in
        # the Application's settings tornado ignores them).
        self.app.listen = functools.partial(
            listen, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY + 64 * 1024
        )
        super().listen()

    def init_settings(self) -> dict[str, Any]:
        # Voila would build its own (pooling) kernel manager here and start filling pools at once;
        # we let it build a plain one, then put ours in its place.
        preheat: bool = self.voila_configuration.preheat_kernel
        self.voila_configuration.preheat_kernel = False
        try:
            settings: dict[str, Any] = super().init_settings()
        finally:
            self.voila_configuration.preheat_kernel = preheat
        serving = self.courseware_config.serve
        pools: dict[str, Any] = {"default": {"pool_size": 0}}
        for notebook in preheated_notebooks(Path(self.root_dir), serving.preheat):
            pools[notebook] = {
                "pool_size": serving.pool_size,
                "kernel_env_variables": kernel_environment(self.ip),
            }
        # Pools refill as warm kernels do, once page views have settled; hot modules get theirs
        # when they are viewed.
        options: dict[str, Any] = (
            {
                "kernel_pools_config": pools,
                "hot_modules": serving.hot_count,
                "hot_env": kernel_environment(self.ip),
            }
            if preheat
            else {}
        )
        self.kernel_manager = kernel_manager_class(preheat=preheat, saved_work=self.saved_work)(
            parent=self,
            connection_dir=self.connection_dir,
            kernel_spec_manager=self.kernel_spec_manager,
            allowed_message_types=ALLOWED_MESSAGES,
            max_kernels=serving.kernel_cap,
            warm_kernels=serving.warm_count,
            cull_idle_timeout=serving.reclaim_after,
            cull_interval=max(1, min(60, serving.reclaim_after // 4)),
            cull_connected=False,
            cull_busy=False,
            **options,
        )
        settings["kernel_manager"] = self.kernel_manager
        settings["courseware_site"] = Site(self.courseware_config, self.base_url)
        settings["courseware_gallery"] = Gallery(Path(self.root_dir), self.base_url)
        settings.update(self.extra_settings)
        return settings

    def coder_url(self) -> str:
        """Where this server's kernels reach the reply coder it hosts."""
        ip = self.ip if self.ip not in ("", "0.0.0.0", "::", "localhost") else "127.0.0.1"
        host = f"[{ip}]" if ":" in ip else ip
        return f"http://{host}:{self.port}{self.server_url.rstrip('/')}/courseware/{CODER_ROUTE}"

    def init_handlers(self) -> list[Any]:
        handlers: list[Any] = super().init_handlers()
        url = self.server_url.rstrip("/")
        # One reply coder for every kernel of this server (never loaded in a kernel): kernels
        # inherit its address and token; the port is final only once the loop runs.
        coder_token = advertise(self.coder_url())
        tornado.ioloop.IOLoop.current().add_callback(
            lambda: readvertise(self.coder_url(), coder_token)
        )
        if isinstance(self.kernel_manager, CountingKernelManager):
            manager = self.kernel_manager  # warm kernels start once the server runs
            tornado.ioloop.IOLoop.current().add_callback(lambda: manager.schedule_warm_fill(0.5))
        voila_conf = {
            "template_paths": self.template_paths,
            "config": self.config,
            "voila_configuration": self.voila_configuration,
        }
        ours: list[Any] = [
            (url + "/?", GalleryHandler),
            (url + "/module/([a-z0-9][a-z0-9_-]*)", ModuleRedirectHandler),
            (url + "/courseware/static/(.*)", CoursewareStaticHandler, {"path": str(STATIC)}),
            (url + "/courseware/brand/logo", LogoHandler),
            (url + "/courseware/api/status", StatusHandler),
            (url + "/" + BUNDLE_ROUTE, ChunkBundleHandler),
            (url_path_join(self.server_url, r"/voila/tree(/.*)?"), TreeRedirectHandler),
            (
                url + "/courseware/" + CODER_ROUTE,
                TokenCodeHandler,
                {"host": shared_host(), "token": coder_token},
            ),
            (url_path_join(self.server_url, r"/voila/render/(.*)"), ModuleHandler, voila_conf),
            (
                url_path_join(self.server_url, r"/voila/api/shutdown/" + _kernel_id_regex),
                ShutdownHandler,
            ),
            (
                url_path_join(self.server_url, r"/voila/static/(.*)"),
                StaticHandler,
                {"paths": self.static_paths, "default_filename": "index.html"},
            ),
            (url_path_join(self.server_url, r"/voila/templates/(.*)"), TemplateStaticHandler),
            (
                url_path_join(self.server_url, r"/voila/labextensions/(.*)"),
                LabextensionsHandler,
                {"path": self.labextensions_path},
            ),
            *self.extra_handlers,
        ]
        return [*ours, *handlers]


def preheated_notebooks(root: Path, module_ids: Sequence[str]) -> list[str]:
    """Notebook paths (relative to ``root``) of the modules with these ids; unknown ids are errors."""
    wanted = set(module_ids)
    found: dict[str, str] = {}
    for module in loadable_modules(root):
        if module.id in wanted and module.notebook.is_file():
            found[module.id] = module.notebook.resolve().relative_to(root.resolve()).as_posix()
    missing = wanted - set(found)
    if missing:
        raise AppsError(f"no module with id {', '.join(sorted(missing))} under {root}")
    return [found[m] for m in module_ids]


def serve_argv(
    root: Path,
    *,
    port: int = DEFAULT_PORT,
    ip: str = DEFAULT_IP,
    open_browser: bool = False,
    preheat: bool = False,
    base_url: str = "/",
) -> list[str]:
    """Voila's command line for serving ``root``; used by :func:`serve` and by the tests."""
    return [
        str(root),
        f"--port={port}",
        f"--Voila.base_url={normalise_base_url(base_url)}",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",
        "--template=courseware",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--preheat_kernel={preheat}",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--no-browser" if not open_browser else "--Voila.open_browser=True",
    ]


def normalise_base_url(base_url: str) -> str:
    """``/`` or ``/a/b/``: one leading and one trailing slash, so every URL joins the same way."""
    parts = [p for p in base_url.split("/") if p]
    if any(
        p in (".", "..") or not all(c.isprintable() and c not in "?#" for c in p) for p in parts
    ):
        raise AppsError(f"base URL {base_url!r} is not a plain path such as /user/ana/courseware/")
    return "/" + "".join(f"{p}/" for p in parts)


def use_courseware_templates() -> None:
    """Put our Voila template on Jupyter's data path (it only adds; existing entries stay)."""
    paths = [str(SHARE), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))


def template_resources(config: AppConfig, base_url: str = "/") -> dict[str, Any]:
    """What the ``courseware`` Voila template reads as ``resources.courseware``."""
    brand = config.branding
    return {
        "institution": brand.institution,
        "brand": brand.colours.brand,
        "focus": brand.colours.focus,
        "logo_url": f"{base_url}courseware/brand/logo" if brand.logo else "",
        "logo_alt": brand.logo_alt or "",
        "css_url": Site(config, base_url).static("module.css"),
    }


def build_app(
    root: str | Path,
    *,
    config: AppConfig | None = None,
    port: int = DEFAULT_PORT,
    ip: str = DEFAULT_IP,
    open_browser: bool = False,
    extra_args: Sequence[str] = (),
    extra_handlers: Sequence[Any] = (),
    extra_settings: dict[str, Any] | None = None,
    base_url: str = "/",
    prerun: bool = True,
) -> CoursewareVoila:
    """A configured, initialised (not yet started) server for the modules under ``root``, with
    every page below ``base_url``; preheated kernels are pre-run where ``prerun`` and the store
    allow (see :mod:`._saved_work`), else they import only."""
    config = config or AppConfig()
    base_url = normalise_base_url(base_url)
    root = Path(root).resolve()
    preheated_notebooks(root, config.serve.preheat)  # unknown module ids fail before the server
    use_courseware_templates()
    voila_config = Config()
    voila_config.VoilaConfiguration.resources = {"courseware": template_resources(config, base_url)}
    preload = PreloadList()
    bundles = ChunkBundle(preload)
    preheat = bool(config.serve.preheat) or config.serve.hot_count > 0
    saved_work = SavedWork.probe() if preheat and prerun else None
    voila_config.VoilaConfiguration.prelaunch_hook = make_prelaunch_hook(
        root, preload.urls, prerun=lambda: saved_work is not None, bundle=bundles.page_metadata
    )
    voila_config.VoilaConfiguration.extension_denylist = NOT_NEEDED_EXTENSIONS
    app = CoursewareVoila(config=voila_config)
    app.courseware_config = config
    app.extra_handlers = list(extra_handlers)
    app.extra_settings = {
        "courseware_preload": preload,
        "courseware_bundle": bundles,
        **(extra_settings or {}),
    }
    app.proxy_token = take_token()
    app.saved_work = saved_work
    app.initialize(
        serve_argv(
            root,
            port=port,
            ip=ip,
            open_browser=open_browser,
            preheat=preheat,
            base_url=base_url,
        )
        + list(extra_args)
    )
    if not is_loopback(ip) and not os.environ.get("JUPYTERHUB_USER"):
        app.log.warning(
            "Serving other devices: everyone who opens a module here saves their work as the same "
            "learner (this server's user). For personal work give each learner a server of their "
            "own (JupyterHub); seminar answers are anonymous and are not affected."
        )
    return app
