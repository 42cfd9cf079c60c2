"""Seminar mode on the network: the seminar's routes in the same tornado server as the module apps.

``courseware seminar`` builds it (:func:`~._launch.build_seminar`) from the routes here: the module apps (this module preheated) and the gallery,
with the seminar's pages (:mod:`._seminar_pages`) and websockets (:mod:`._seminar_sockets`) over one
:class:`~._seminar.Seminar` kept in the store change by change, its room
(:mod:`._seminar_room`) the gate in front of every route. Learners get no kernel: a small page, a
websocket, and a plain HTML form when JavaScript is off. One kernel per learner would cost about
150 MB each and seconds to start; a websocket costs a few kilobytes and answers in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..content import ContentError, ModuleContent, load_module, loadable_modules
from ._config import AppsError
from ._seminar_pages import ExportHandler, JoinHandler, PresenterHandler
from ._seminar_room import SeminarRoom
from ._seminar_sockets import LearnerSocket, PresenterSocket


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
    for found in loadable_modules(root):
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
