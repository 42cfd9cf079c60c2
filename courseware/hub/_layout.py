"""Where a hub set up by ``courseware hub init`` keeps its files, and the packaged files it needs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import CoursewareError

PREFIX_ENV = "COURSEWARE_HUB_PREFIX"
_PACKAGED = Path(__file__).resolve().parent.parent / "_deploy"
_CHECKOUT = Path(__file__).resolve().parent.parent.parent


class HubInitError(CoursewareError, RuntimeError):
    """A step of ``hub init`` (or start/stop) cannot be done; the message says what to do."""


def deploy_file(name: str) -> Path:
    """A file the deployment needs: ``jupyterhub_config.py``, ``nbgrader_config.py`` or ``assignments``.

    An installed package carries them as package data (``courseware/_deploy/``); a source checkout
    (an editable install) has them in ``deploy/`` and ``assignments/``.
    """
    packaged = _PACKAGED / name
    if packaged.exists():
        return packaged
    checkout = _CHECKOUT / ("assignments" if name == "assignments" else f"deploy/{name}")
    if checkout.exists():
        return checkout
    raise HubInitError(f"{name} is missing from the installed courseware ({packaged})")


@dataclass(frozen=True)
class HubLayout:
    """Where ``hub init`` puts things, all under ``prefix`` (``/`` on a real hub)."""

    prefix: Path = Path("/")
    exchange: Path | None = None
    courses: Path | None = None

    @property
    def config_dir(self) -> Path:
        return self.prefix / "etc" / "courseware"

    @property
    def jupyter_config_dir(self) -> Path:
        """Holds the hub-wide ``nbgrader_config.py`` (``/etc/jupyter`` is on Jupyter's path)."""
        return self.prefix / "etc" / "jupyter"

    @property
    def state_dir(self) -> Path:
        return self.prefix / "var" / "lib" / "courseware"

    @property
    def log_dir(self) -> Path:
        return self.prefix / "var" / "log" / "courseware"

    @property
    def exchange_dir(self) -> Path:
        return self.exchange or self.prefix / "srv" / "nbgrader" / "exchange"

    @property
    def courses_dir(self) -> Path:
        return self.courses or self.prefix / "srv" / "courseware" / "courses"

    @property
    def hub_config(self) -> Path:
        return self.config_dir / "jupyterhub_config.py"

    @property
    def database_url_file(self) -> Path:
        return self.config_dir / "database-url"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "hub.json"

    @classmethod
    def from_prefix(cls, prefix: str | Path | None) -> HubLayout:
        """``prefix``, else ``$COURSEWARE_HUB_PREFIX`` (for trials and tests), else ``/``."""
        return cls(Path(prefix or os.environ.get(PREFIX_ENV) or "/").resolve())
