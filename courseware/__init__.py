"""Clinical-empathy courseware for Jupyter.

A module notebook needs only::

    import courseware as cw
    module = cw.open_module()
    module.vignette("chest-pain-anxiety")

``import courseware`` stays cheap: widgets and content load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_getattr as _lazy_getattr

__version__ = "0.1.0"

__all__ = [
    "ContentError",
    "__version__",
    "check_paths",
    "load_module",
    "load_vignette",
    "my_progress",
    "open_module",
    "open_store",
]

_LAZY = {
    "ContentError": "courseware.content",
    "check_paths": "courseware.content",
    "load_module": "courseware.content",
    "load_vignette": "courseware.content",
    "my_progress": "courseware.widgets",
    "open_module": "courseware.widgets",
    "open_store": "courseware.store",
}

if TYPE_CHECKING:
    from .content import ContentError, check_paths, load_module, load_vignette
    from .store import open_store
    from .widgets import my_progress, open_module


__getattr__ = _lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
