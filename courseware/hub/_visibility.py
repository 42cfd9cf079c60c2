"""Which events others may see: private kinds, shared snapshots and their withdrawal.

One rule, used by every read a tutor makes (the API, the cohort page).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._db import EventRow

PRIVATE_PREFIXES = ("reflection.", "poll.")
"""Kinds only their learner reads: reflection drafts and poll answers (polls are anonymous)."""

SHARED_KINDS = ("reflection.shared", "reflection.submitted")
"""A snapshot the learner chose to show (``shared``, withdrawable) or handed in (``submitted``)."""

WITHDRAWN = "reflection.unshared"

RESERVED_PREFIXES = ("poll.",)
"""Kinds only the service writes (through the poll endpoints, which check the poll)."""

POLL_MODULE = "polls"
POLL_ANSWER = "poll.answer"


def visible_to_others(
    rows: Sequence[EventRow], withdrawals: Iterable[EventRow] = ()
) -> list[EventRow]:
    """The rows a tutor may see: no private kinds, except shared snapshots not since withdrawn.

    ``withdrawals`` are ``reflection.unshared`` rows for the same learners (a withdrawal hides
    the ``reflection.shared`` snapshots before it, never a ``reflection.submitted`` one).
    """
    last_withdrawal: dict[tuple[str, str, str], int] = {}
    for row in withdrawals:
        key = (row.learner, row.module, row.item)
        last_withdrawal[key] = max(last_withdrawal.get(key, 0), row.id)
    shown = []
    for row in rows:
        if row.kind.startswith(PRIVATE_PREFIXES):
            if row.kind not in SHARED_KINDS:
                continue
            if row.kind == "reflection.shared" and row.id < last_withdrawal.get(
                (row.learner, row.module, row.item), 0
            ):
                continue
        shown.append(row)
    return shown


def shared_reflections(rows: Iterable[EventRow]) -> list[EventRow]:
    """The reflections to show a tutor: per learner, module, reflection and kind (shared or
    submitted), the newest of the rows already filtered by :func:`visible_to_others`."""
    newest: dict[tuple[str, str, str, str], EventRow] = {}
    for row in rows:
        if row.kind in SHARED_KINDS:
            newest[(row.learner, row.module, row.item, row.kind)] = row
    return sorted(newest.values(), key=lambda r: (r.learner, r.module, r.item, r.id))
