"""The server's view of its learner's saved work, so that a pre-run kernel is never out of date.

A pre-run kernel (see :mod:`._prelaunch`) built its widgets from the learner's saves as they were
when its cells ran. Before a page gets such a kernel, the server compares the store's revision for
the learner (how many events, the newest id) with the one taken before the cells ran: if anything
was saved since (in another tab, on another device), the kernel is shut down instead and the page
takes a kernel that reads the saves afresh.
"""

from __future__ import annotations

import logging
import sqlite3

from ..errors import CoursewareError
from ..store import Store, current_learner, open_store

log = logging.getLogger(__name__)

Revision = tuple[int, int]


class SavedWork:
    """One learner's saves in one store, as a revision that changes with every save."""

    def __init__(self, store: Store, learner: str) -> None:
        self.store = store
        self.learner = learner

    @classmethod
    def probe(cls) -> SavedWork | None:
        """For the learner and store this server's kernels inherit (its user, ``$COURSEWARE_STORE``),
        or ``None`` where the store cannot tell its revision cheaply (a hub's service) or cannot
        be opened: then no kernel is pre-run."""
        try:
            store = open_store()
        except (CoursewareError, OSError, sqlite3.Error, ValueError) as exc:
            log.warning("no pre-run kernels: the store cannot be opened (%s)", exc)
            return None
        work = cls(store, current_learner())
        if work.revision() is None:
            store.close()
            return None
        return work

    def revision(self) -> Revision | None:
        """The learner's revision now; ``None`` if the store cannot say (then nothing pre-run
        counts as up to date)."""
        try:
            return self.store.revision(self.learner)
        except Exception as exc:  # any store failure: not known to be up to date, never a 500
            log.warning("cannot read the revision of the saved work: %s", exc)
            return None

    def close(self) -> None:
        self.store.close()
