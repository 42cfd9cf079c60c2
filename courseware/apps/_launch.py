"""Starting the servers: the functions ``courseware serve`` and ``courseware seminar`` call.

Light to import: Voila, tornado and the store load only when a server is built (inside each
function), so the command line reads these functions' signatures for its options' defaults
(:mod:`._cli`) without loading them, and the command line and the API cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store
    from ._config import AppConfig
    from ._seminar_web import SeminarServer

DEFAULT_PORT = 8866
"""Where ``courseware serve`` and ``courseware seminar`` listen unless told otherwise."""
DEFAULT_IP = "127.0.0.1"
"""This machine only: other devices are let in by choice (``--ip 0.0.0.0``)."""


def serve(
    root: str | Path,
    *,
    config: AppConfig | str | Path | None = None,
    port: int = DEFAULT_PORT,
    ip: str = DEFAULT_IP,
    open_browser: bool = False,
    preheat: Sequence[str] = (),
    max_kernels: int | None = None,
    warm_kernels: int | None = None,
    hot_modules: int | None = None,
    extra_args: Sequence[str] = (),
    base_url: str = "/",
) -> None:
    """Serve the modules under ``root`` until interrupted, every page below ``base_url``.

    ``config`` is an :class:`AppConfig`, a config file, or ``None`` for ``courseware.yaml`` beside
    the modules if there is one; ``preheat`` (module ids), ``max_kernels``, ``warm_kernels`` and
    ``hot_modules`` add to it.
    """
    from ._config import resolve_config  # here, not above: see the module's docstring
    from ._serve import build_app

    resolved = resolve_config(
        Path(root),
        config,
        preheat=list(preheat),
        max_kernels=max_kernels,
        warm_kernels=warm_kernels,
        hot_modules=hot_modules,
    )
    build_app(
        root,
        config=resolved,
        port=port,
        ip=ip,
        open_browser=open_browser,
        extra_args=extra_args,
        base_url=base_url,
    ).start()


def build_seminar(
    module: str | Path,
    *,
    root: str | Path,
    config: AppConfig | str | Path | None = None,
    port: int = DEFAULT_PORT,
    ip: str = DEFAULT_IP,
    public_url: str | None = None,
    min_group: int | None = None,
    extra_args: Sequence[str] = (),
    store: Store | None = None,
    new_session: bool = False,
) -> SeminarServer:
    """Everything ``courseware seminar`` starts: the module apps (this module preheated), the
    gallery, and the seminar pages over one :class:`Seminar`.

    The seminar is kept in ``store`` (default: :func:`~courseware.store.open_store`): the
    module's latest session there carries on (after a crash or restart nothing is lost) unless
    ``new_session``."""
    from ..store import open_store  # here, not above: see the module's docstring
    from ._config import AppsError, resolve_config
    from ._gallery import entry_for
    from ._pages import Site
    from ._seminar import open_session
    from ._seminar_room import SeminarRoom
    from ._seminar_web import SeminarServer, find_module, seminar_handlers
    from ._serve import build_app

    root = Path(root).resolve()
    content = find_module(module, root)
    try:
        content.notebook.resolve().relative_to(root)
    except ValueError:
        raise AppsError(f"module {content.id!r} is not under {root}") from None
    resolved = resolve_config(root, config, preheat=[content.id], min_group=min_group)
    seminar = open_session(
        store if store is not None else open_store(),
        content,
        new=new_session,
        min_group=resolved.seminar.min_group,
        max_text=resolved.seminar.max_text,
        max_people=resolved.seminar.max_people,
    )
    site = Site(resolved, "/")
    room = SeminarRoom(seminar, site, entry_for(content, root, "/").url, public_url)
    app = build_app(
        root,
        config=resolved,
        port=port,
        ip=ip,
        extra_args=extra_args,
        extra_handlers=seminar_handlers(site.base_url),
        extra_settings={"courseware_seminar": room, "courseware_gate": room},
        # The room's log is saved as the presenter, the learner a pre-run kernel would check:
        # every answer would make it out of date. The presenter's kernel imports only.
        prerun=False,
    )
    local = f"http://{'127.0.0.1' if ip in ('', '0.0.0.0', '::') else ip}:{port}/"
    return SeminarServer(
        app,
        room,
        f"{local}seminar/present?token={seminar.presenter_token}",
        (public_url.rstrip("/") + "/join") if public_url else f"{local}join",
    )


def run_seminar(module: str | Path, *, open_browser: bool = False, **options: Any) -> None:
    """Run a seminar for ``module`` until interrupted (``options`` as for :func:`build_seminar`);
    print the presenter's and the learners' links first."""
    server = build_seminar(module, **options)
    print(f"Presenter view (keep this link to yourself): {server.presenter_url}", flush=True)
    print(f"Learners join at: {server.join_url}", flush=True)
    seminar = server.room.seminar
    if seminar.log is not None:
        print(
            f"Session {seminar.log.session} (round {seminar.round}): every answer is saved as it "
            "comes in; run again after a restart to carry on, or with --new-session to start afresh.",
            flush=True,
        )
    if open_browser:
        import webbrowser

        webbrowser.open(server.presenter_url)
    server.app.start()
