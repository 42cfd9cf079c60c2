"""Seminar mode on the network: the seminar's routes in the same tornado server as the module apps.

``courseware seminar`` builds it here: the module apps (this module preheated) and the gallery,
with the seminar's pages (:mod:`._seminar_pages`) and websockets (:mod:`._seminar_sockets`) over one
:class:`~._seminar.Seminar` kept in the store change by change, its room
(:mod:`._seminar_room`) the gate in front of every route. Learners get no kernel: a small page, a
websocket, and a plain HTML form when JavaScript is off. One kernel per learner would cost about
150 MB each and seconds to start; a websocket costs a few kilobytes and answers in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..content import ContentError, ModuleContent, find_modules, load_module
from ..store import Store, open_store
from ._config import DEFAULT_PORT, AppConfig, AppsError, resolve_config
from ._gallery import entry_for
from ._pages import Site
from ._seminar import open_session
from ._seminar_pages import ExportHandler, JoinHandler, PresenterHandler
from ._seminar_room import SeminarRoom
from ._seminar_sockets import LearnerSocket, PresenterSocket
from ._serve import build_app


def seminar_handlers(base_url: str = "/") -> list[Any]:
    """Routes for the seminar, to put in front of Voila's (see :class:`CoursewareVoila`)."""
    prefix = base_url.rstrip("/")
    return [
        (prefix + "/join", JoinHandler),
        (prefix + "/seminar/present(/screen)?", PresenterHandler),
        (prefix + "/seminar/results.csv", ExportHandler),
        (prefix + "/seminar/ws/learner", LearnerSocket),
        (prefix + "/seminar/ws/presenter", PresenterSocket),
    ]


def find_module(module: str | Path, root: Path) -> ModuleContent:
    """A module by folder, or by id under ``root``; raises :class:`AppsError` if there is none."""
    folder = Path(module)
    if (folder / "module.yaml").is_file():
        try:
            return load_module(folder)
        except ContentError as exc:
            raise AppsError(str(exc)) from None
    for directory in find_modules(root):
        try:
            found = load_module(directory)
        except ContentError:
            continue
        if found.id == str(module):
            return found
    raise AppsError(f"no module {str(module)!r}: give a module id under {root} or a module folder")


@dataclass
class SeminarServer:
    """A built (not yet started) seminar server and the links to hand out."""

    app: Any
    room: SeminarRoom
    presenter_url: str
    join_url: str


def build_seminar(
    module: str | Path,
    *,
    root: str | Path,
    config: AppConfig | str | Path | None = None,
    port: int = DEFAULT_PORT,
    ip: str = "127.0.0.1",
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
