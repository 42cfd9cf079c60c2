"""What a module's kernel is given before its notebook runs: the page's title, the scripts to
preload, and for a preheated kernel the cell that makes it wait for its learner.

Preheating (Voila's ``preheat_kernel``) runs a notebook before anyone asks for it. Our widgets read
the learner's saved answers when they are created, so a kernel that ran the module's cells in
advance shows whatever was saved at that moment. Two ways to preheat, chosen by the server:

* **pre-run** (where the server can tell whether the learner's saved work has changed since, see
  :class:`SavedWork`): the module's cells run in advance, then :data:`PRERUN_CELL`, last, waits
  for a page to claim the kernel. The page is already rendered when its learner asks; the server
  gives it only to a view whose learner has saved nothing since the cells ran (else it is shut
  down and the view takes another kernel).
* **imports only** (the server cannot tell, e.g. a hub's store): :data:`PREHEAT_CELL`, first,
  imports what the module needs (the slow part) and then blocks until a page claims the kernel.
  No cell of the module runs before its learner's request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from ..content import ContentError, drop_link_cell, load_module

log = logging.getLogger(__name__)

PREHEAT_CELL = """\
import os as _cw_os
if _cw_os.environ.get("VOILA_PREHEAT") == "True":
    # Import what every module needs now, while no one is waiting ...
    import courseware.content, courseware.widgets
    from voila.utils import wait_for_request as _cw_wait_for_request
    # ... then run nothing of the module until a learner's request claims this kernel.
    _cw_wait_for_request()
    del _cw_wait_for_request
del _cw_os
"""
"""Put first in a preheated notebook: warm imports, then wait for the learner's request."""

PRERUN_CELL = """\
import os as _cw_os
if _cw_os.environ.get("VOILA_PREHEAT") == "True":
    # Every cell above ran before anyone asked: wait here for the learner's request.
    from voila.utils import wait_for_request as _cw_wait_for_request
    _cw_wait_for_request()
    del _cw_wait_for_request
del _cw_os
"""
"""Put last in a pre-run notebook: the module is built; wait for the learner's request."""


@lru_cache(maxsize=256)
def _module_title(directory: str, mtime_ns: int) -> str | None:
    try:
        return load_module(directory).spec.title
    except (ContentError, OSError) as exc:
        log.warning("no title for the page of %s: %s", directory, exc)
        return None


def module_title(directory: Path) -> str | None:
    """The module's title from its ``module.yaml`` (re-read when the file changes)."""
    try:
        mtime = (directory / "module.yaml").stat().st_mtime_ns
    except OSError:
        return None
    return _module_title(str(directory), mtime)


def make_prelaunch_hook(
    root: Path,
    preload: Sequence[str] = (),
    *,
    prerun: Callable[[], bool] = lambda: False,
    bundle: Callable[[], dict[str, object] | None] = lambda: None,
) -> Any:
    """Voila's ``prelaunch_hook``: title each page after its module, list the scripts to preload
    (``preload`` is read at each render: it may grow) and the bundle of those that are chunks
    (``bundle()``, once there is one: see :mod:`._bundle`), the preheat cell for pooled kernels: last
    (:data:`PRERUN_CELL`) where ``prerun()`` says the server checks saved work before it hands a
    pre-run kernel out, else first (:data:`PREHEAT_CELL`).

    Voila calls the hook with the request handler for a page view and with ``None`` when it renders
    a notebook for the preheated pool, which is how the preheat cell goes only where it belongs.
    """

    def hook(handler: Any, notebook: Any, cwd: str) -> Any:
        title = module_title(root / cwd)
        if title and not notebook.metadata.get("title"):
            notebook.metadata["title"] = title
        notebook.metadata["courseware_preload"] = list(preload)
        notebook.metadata["courseware_bundle"] = bundle()
        drop_link_cell(notebook)  # the link to the app has no place inside it
        if handler is None:
            last = prerun()
            cell = nbformat.v4.new_code_cell(PRERUN_CELL if last else PREHEAT_CELL)  # type: ignore[no-untyped-call]
            cell.metadata["tags"] = ["courseware-preheat"]
            notebook.cells.insert(len(notebook.cells) if last else 0, cell)
        return notebook

    return hook


def kernel_environment(ip: str) -> dict[str, str]:
    """Variables a preheated kernel needs to reach this server's request-info socket."""
    return {"VOILA_APP_IP": ip if ip not in ("", "0.0.0.0", "::") else "127.0.0.1"}
