"""What an institution configures for xAPI: its IRIs, what may be sent, and where the LRS is.

Everything comes from the environment (``COURSEWARE_XAPI_*``, as the hub service gets the rest of
its configuration) or from keyword arguments (the command line's options); nothing is read from a
learner's files. The pseudonym key is the project's one key (``COURSEWARE_PSEUDONYM_KEY``, or a
file named by ``COURSEWARE_PSEUDONYM_KEY_FILE``), so a learner has the same pseudonym in the LRS as
in the evaluation reports.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .._pseudonym import KEY_ENV
from ..errors import CoursewareError

ENV = "COURSEWARE_XAPI_"
"""Prefix of every xAPI setting in the environment."""

KEY_FILE_ENV = "COURSEWARE_PSEUDONYM_KEY_FILE"
COURSE_MODULES_ENV = "COURSEWARE_COURSE_MODULES"


class XAPIError(CoursewareError, ValueError):
    """An xAPI setting is missing or wrong; the message names it."""


def _iri(value: str, name: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise XAPIError(f"{name}: must be an http(s) IRI, not {value!r}")
    return value


def parse_course_modules(text: str) -> dict[str, list[str]]:
    """``course=module,module course2=module`` (the hub's ``COURSEWARE_COURSE_MODULES``) ->
    each module's courses."""
    courses: dict[str, list[str]] = {}
    for entry in text.split():
        course, _, modules = entry.partition("=")
        if not course or not modules:
            raise XAPIError(f"{COURSE_MODULES_ENV}: {entry!r} is not course=module,module")
        for module in filter(None, modules.split(",")):
            courses.setdefault(module, []).append(course)
    return courses


@dataclass(frozen=True)
class XAPISettings:
    """One institution's xAPI settings.

    ``activity_base``: the IRI under which modules, cases, nodes and exercises get their activity
    ids (``<base>modules/<module>/cases/<case>/nodes/<node>``). ``home_page``: the ``homePage`` of
    learners' pseudonymous accounts (default: the base's origin). ``send_text``: send what
    learners wrote (reflections, replies, notes); off by default. ``key``: the pseudonym key.
    ``courses``: each module's courses (statements name them in their context). ``lrs``,
    ``username``, ``password``: where the forwarder sends statements and its Basic credentials;
    ``outbox``: the forwarder's SQLite file.
    """

    activity_base: str
    key: bytes
    home_page: str = ""
    send_text: bool = False
    courses: Mapping[str, list[str]] = field(default_factory=dict)
    lrs: str = ""
    username: str = ""
    password: str = ""
    outbox: Path | None = None
    batch: int = 100

    def __post_init__(self) -> None:
        base = _iri(self.activity_base, f"{ENV}ACTIVITY_BASE")
        if not base.endswith("/"):
            object.__setattr__(self, "activity_base", base + "/")
        if not self.home_page:
            parts = urllib.parse.urlsplit(base)
            object.__setattr__(self, "home_page", f"{parts.scheme}://{parts.netloc}/")
        _iri(self.home_page, f"{ENV}HOME_PAGE")
        if len(self.key) < 16:
            raise XAPIError(
                f"the pseudonym key must be at least 16 bytes ({KEY_ENV} or {KEY_FILE_ENV})"
            )
        if self.lrs:
            _iri(self.lrs, f"{ENV}LRS")
        if not 1 <= self.batch <= 1000:
            raise XAPIError(f"{ENV}BATCH: must be 1 to 1000")

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, **given: Any
    ) -> XAPISettings:
        """Settings from ``environ`` (default ``os.environ``), with ``given`` values (not None)
        taking precedence. Raises :class:`XAPIError` naming a missing or bad setting."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in given.items() if v is not None}

        def text(name: str) -> str:
            return env.get(ENV + name, "").strip()

        base = given.pop("activity_base", None) or text("ACTIVITY_BASE")
        if not base:
            raise XAPIError(
                f"no activity IRI: set {ENV}ACTIVITY_BASE (e.g. https://learning.example.ac.uk/"
                "empathy/) or pass --activity-base"
            )
        key = given.pop("key", None)
        if key is None:
            key_file = env.get(KEY_FILE_ENV, "").strip()
            if key_file:
                key = Path(key_file).expanduser().read_bytes().strip()
            else:
                key = env.get(KEY_ENV, "").encode()
        if not key:
            raise XAPIError(
                f"no pseudonym key: set {KEY_ENV} or {KEY_FILE_ENV} (the same key every time,"
                " or a learner's pseudonym and statement ids would change)"
            )
        send_text = text("SEND_TEXT").lower()
        if send_text not in ("", "0", "1", "true", "false", "yes", "no"):
            raise XAPIError(f"{ENV}SEND_TEXT: must be true or false, not {send_text!r}")
        values: dict[str, Any] = {
            "home_page": text("HOME_PAGE"),
            "send_text": send_text in ("1", "true", "yes"),
            "courses": parse_course_modules(env.get(COURSE_MODULES_ENV, "")),
            "lrs": text("LRS"),
            "username": text("USERNAME"),
            "password": env.get(ENV + "PASSWORD", ""),
            "outbox": Path(text("OUTBOX")).expanduser() if text("OUTBOX") else None,
        }
        if text("BATCH"):
            try:
                values["batch"] = int(text("BATCH"))
            except ValueError:
                raise XAPIError(f"{ENV}BATCH: must be a whole number") from None
        values.update(given)
        return cls(activity_base=base, key=key, **values)

    def with_changes(self, **changes: Any) -> XAPISettings:
        return replace(self, **changes)
