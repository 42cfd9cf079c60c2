"""The pages our server renders itself (gallery, "room is full", seminar): one layout, one style sheet.

Every page extends ``templates/layout.html``: a skip link, a branded banner, a ``main`` landmark
and a footer, with the brand colours from the config as CSS custom properties. Jinja escapes every
value, so a module title or a learner's answer can never become markup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ._config import AppConfig

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "courseware/static/"
LOGO_URL = "courseware/brand/logo"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def static_version(name: str) -> str:
    """A short hash of a static file's bytes, so its URL changes whenever it does (cache forever)."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class Site:
    """What every page needs to know: where it is served and how it is branded."""

    config: AppConfig = field(default_factory=AppConfig)
    base_url: str = "/"

    def static(self, name: str) -> str:
        return f"{self.base_url}{STATIC_PREFIX}{name}?v={static_version(name)}"

    @property
    def logo_url(self) -> str | None:
        return f"{self.base_url}{LOGO_URL}" if self.config.branding.logo else None

    def render(self, template: str, **context: Any) -> str:
        """Render ``template`` with the branding and URL helpers every page uses."""
        return (
            _environment()
            .get_template(template)
            .render(
                brand=self.config.branding,
                base_url=self.base_url,
                static=self.static,
                logo_url=self.logo_url,
                **context,
            )
        )
