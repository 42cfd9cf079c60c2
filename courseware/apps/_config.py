"""Configuration of the Voila apps: branding, serving limits and seminar rules, from one YAML file.

A deployer brands the gallery, module pages and seminar pages by writing ``courseware.yaml`` beside
the ``modules/`` folder (or passing ``--config``); nobody edits a template. The file is validated like
content files are: every mistake names the file, the line and the field. Colours are checked for
WCAG AA contrast, because a badly chosen brand colour would otherwise make every page fail.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from ..content import ContentError, Problem, read_yaml, validate
from ..errors import CoursewareError

CONFIG_FILE = "courseware.yaml"


class AppsError(CoursewareError, ValueError):
    """Why a server cannot start: a bad config file, an unknown module; the message says where."""


LOGO_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
MAX_LOGO_BYTES = 512 * 1024
KERNEL_MEMORY_MB = 150
"""A module kernel's resident memory, measured with ipywidgets and the courseware widgets loaded."""

PALEST_BACKGROUND = "#f4f6f9"
"""The darkest light background brand-coloured text sits on (gallery cards, panels)."""
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio between two ``#rrggbb`` colours (1 to 21)."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Colours(_Model):
    """Brand colours. ``brand`` is used for links, headings' rules and buttons (text on white and
    white text on it); ``focus`` is the focus ring drawn around whatever has the keyboard focus."""

    brand: Colour = "#1d4f91"
    focus: Colour = "#ffbf47"

    @field_validator("brand")
    @classmethod
    def _brand_reads_on_white(cls, value: str) -> str:
        ratio = min(contrast_ratio(value, "#ffffff"), contrast_ratio(value, PALEST_BACKGROUND))
        if ratio < 4.5:
            raise ValueError(
                f"{value} has contrast {ratio:.2f}:1 with the pages' light backgrounds; links and "
                "buttons need at least 4.5:1 (WCAG AA), so choose a darker shade"
            )
        return value

    @field_validator("focus")
    @classmethod
    def _focus_is_visible(cls, value: str) -> str:
        ratio = contrast_ratio(value, "#111111")
        if ratio < 3:
            raise ValueError(
                f"{value} has contrast {ratio:.2f}:1 with the dark outline drawn beside it; a focus "
                "ring needs at least 3:1 (WCAG 2.2), so choose a lighter colour"
            )
        return value


class Branding(_Model):
    """Who the pages say they belong to."""

    institution: Text = "Empathy courseware"
    title: Text = "Clinical empathy modules"
    logo: str | None = Field(default=None, description="image file, relative to the config file")
    logo_alt: Text | None = None
    colours: Colours = Colours()

    @field_validator("logo_alt")
    @classmethod
    def _alt_needs_logo(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not info.data.get("logo"):
            raise ValueError("logo_alt is set but there is no logo")
        return value


def default_max_kernels() -> int:
    """Half the machine's memory divided by a kernel's footprint, between 4 and 200."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 40
    return max(4, min(200, int(total / 2 / (KERNEL_MEMORY_MB * 1024 * 1024))))


class Serving(_Model):
    """Limits and speed-ups for module apps."""

    max_kernels: int | None = Field(
        default=None, ge=1, le=10_000, description="live learner kernels at most (default: memory)"
    )
    preheat: list[str] = Field(
        default_factory=list, description="module ids whose kernels are started before anyone asks"
    )
    pool_size: int = Field(default=2, ge=1, le=50, description="preheated kernels per module")
    warm_kernels: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description=(
            "kernels kept started for any module's next page view, about 100 MB each (default: 2;"
            " none in a learner's own server on a hub, where one learner would pay for them)"
        ),
    )
    hot_modules: int | None = Field(
        default=None,
        ge=0,
        le=20,
        description=(
            "modules viewed most recently that keep one preheated kernel each for their next"
            " page view (default: 2; none in a learner's own server on a hub)"
        ),
    )
    reclaim_after: int = Field(
        default=120,
        ge=5,
        le=86_400,
        description="seconds a kernel with no page connected may sit idle before it is shut down",
    )

    @property
    def kernel_cap(self) -> int:
        return self.max_kernels if self.max_kernels is not None else default_max_kernels()

    @property
    def warm_count(self) -> int:
        if self.warm_kernels is not None:
            return self.warm_kernels
        return 0 if os.environ.get("JUPYTERHUB_USER") else 2

    @property
    def hot_count(self) -> int:
        if self.hot_modules is not None:
            return self.hot_modules
        return 0 if os.environ.get("JUPYTERHUB_USER") else 2


class SeminarRules(_Model):
    """How seminar polls are shown."""

    min_group: int = Field(
        default=5, ge=1, le=1000, description="answers needed before a breakdown is shown"
    )
    max_text: int = Field(default=280, ge=20, le=2000, description="longest free-text answer")
    max_people: int = Field(
        default=5000, ge=1, le=100_000, description="people the seminar has places for"
    )


class HubLinks(_Model):
    """Where learners' links point: the hub and the course repository nbgitpuller pulls from."""

    url: str | None = Field(
        default=None, description="the hub's address, e.g. https://hub.example.ac.uk"
    )
    repository: str | None = Field(default=None, description="git URL of this course repository")
    branch: str | None = Field(
        default=None, description="branch to pull (default: the repository's)"
    )

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
            raise ValueError("must be the hub's web address, starting http:// or https://")
        return value

    @field_validator("repository", "branch")
    @classmethod
    def _no_blanks(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c.isspace() for c in value)):
            raise ValueError("must be one word with no spaces")
        if value is not None and value.startswith("-"):  # git would read it as an option
            raise ValueError("must not start with '-'")
        return value

    @field_validator("repository")
    @classmethod
    def _git_address(cls, value: str | None) -> str | None:
        """A repository git can clone: a URL (https, http, ssh, git, file), ``user@host:path``, or
        an absolute path on the hub's machine (a course kept beside a one-machine hub); never
        anything git could read as an option or another transport."""
        if value is not None and not re.match(
            r"^((https?|ssh|git)://[^\s/?#]+/\S+|file:///\S+|/\S+|[\w.-]+@[\w.-]+:\S+)$", value
        ):
            raise ValueError(
                "must be the course repository's git address, e.g. https://git.example.ac.uk/"
                "course.git, git@git.example.ac.uk:course.git or /srv/course.git"
            )
        return value

    @field_validator("branch")
    @classmethod
    def _branch_name(cls, value: str | None) -> str | None:
        """A name git accepts for a branch (as ``git check-ref-format --branch`` would)."""
        if value is not None and (
            re.search(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(/|$)", value)
            or value.startswith(("/", "."))
            or value.endswith(("/", "."))
            or value == "@"
        ):
            raise ValueError("is not a branch name git accepts")
        return value


class AppConfig(_Model):
    """Everything ``courseware.yaml`` may say."""

    branding: Branding = Branding()
    serve: Serving = Serving()
    seminar: SeminarRules = SeminarRules()
    hub: HubLinks = HubLinks()
    base_dir: Path | None = Field(default=None, exclude=True)

    def logo_path(self) -> Path | None:
        if self.branding.logo is None:
            return None
        return (self.base_dir or Path.cwd()) / self.branding.logo

    def with_overrides(self, **changes: Any) -> AppConfig:
        """A copy with serving or seminar options from the command line; ``None`` keeps the file's,
        and modules to preheat are added to the file's."""
        if changes.get("preheat") is not None:
            changes["preheat"] = list(dict.fromkeys([*self.serve.preheat, *changes["preheat"]]))
        serve = {k: v for k, v in changes.items() if k in Serving.model_fields and v is not None}
        seminar = {
            k: v for k, v in changes.items() if k in SeminarRules.model_fields and v is not None
        }
        unknown = set(changes) - set(Serving.model_fields) - set(SeminarRules.model_fields)
        if unknown:
            raise TypeError(f"unknown options: {sorted(unknown)}")
        return self.model_copy(
            update={
                "serve": Serving.model_validate({**self.serve.model_dump(), **serve}),
                "seminar": SeminarRules.model_validate({**self.seminar.model_dump(), **seminar}),
            }
        )


_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


def load_config(path: str | Path | None) -> AppConfig:
    """Read and validate a config file; ``None`` gives the defaults.

    Raises :class:`~courseware.content.ContentError` naming the file, line and field of each problem,
    including a logo that is missing, too large or not an image, and a preheat entry that is not a
    module id.
    """
    if path is None:
        return AppConfig()
    path = Path(path)
    doc = read_yaml(path)
    config = validate(doc, AppConfig).model_copy(update={"base_dir": path.resolve().parent})
    problems: list[Problem] = []
    logo = config.logo_path()
    if logo is not None:
        where = ["branding", "logo"]
        if logo.suffix.lower() not in LOGO_TYPES:
            problems.append(doc.problem(where, f"logo must be one of {', '.join(LOGO_TYPES)}"))
        elif not logo.is_file():
            problems.append(doc.problem(where, f"no such file {config.branding.logo!r}"))
        elif logo.stat().st_size > MAX_LOGO_BYTES:
            problems.append(doc.problem(where, f"logo is larger than {MAX_LOGO_BYTES // 1024} KB"))
        if config.branding.logo_alt is None:
            problems.append(
                doc.problem(["branding"], "logo_alt is required with a logo (the logo's text)")
            )
    for i, module_id in enumerate(config.serve.preheat):
        if not _SLUG.match(module_id):
            problems.append(doc.problem(["serve", "preheat", i], "not a module id"))
    if problems:
        raise ContentError(problems)
    return config


def find_config(root: Path) -> Path | None:
    """``courseware.yaml`` in the modules folder or the folder above it, if there is one."""
    for folder in (root, root.parent):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve_config(
    root: Path, config: AppConfig | str | Path | None = None, **overrides: Any
) -> AppConfig:
    """The config to serve ``root`` with: given, read from a file, or found beside the modules;
    then command-line ``overrides`` applied. Raises :class:`AppsError` naming each problem."""
    if not isinstance(config, AppConfig):
        path = Path(config) if config is not None else find_config(root)
        try:
            config = load_config(path)
        except ContentError as exc:
            raise AppsError(str(exc)) from None
    try:
        return config.with_overrides(**overrides)
    except ValueError as exc:  # pydantic's ValidationError for a bad command-line value
        raise AppsError(str(exc)) from None
