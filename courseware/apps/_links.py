"""Links that bring a module to a learner on JupyterHub.

A link is nbgitpuller's: the hub signs the learner in, starts their server, nbgitpuller pulls (or
updates, keeping the learner's own changes) the course repository into their home, then sends the
browser to ``urlpath`` in their server. Ours is the courseware app's ``module/<id>`` page, which
finds the module wherever the repository landed and opens it as an app, so a link never depends on
the folder name nbgitpuller chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from pydantic import ValidationError

from .._paths import curriculum_root
from ..content import (
    APP_PATH,
    ContentError,
    app_module_path,
    find_courses,
    load_course,
    load_module,
    loadable_modules,
)
from ._config import AppConfig, AppsError, HubLinks, find_config, load_config

__all__ = ["APP_PATH", "ModuleLink", "app_module_path", "module_links", "pull_link"]


def pull_link(hub_url: str, repository: str, urlpath: str, branch: str | None = None) -> str:
    """nbgitpuller's link: pull ``repository`` into the learner's home, then open ``urlpath``."""
    query = {"repo": repository, **({"branch": branch} if branch else {}), "urlpath": urlpath}
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{urlencode(query)}"


_OPTIONS = {"url": "--hub", "repository": "--repo", "branch": "--branch"}


def _check_hub_links(hub: str, repository: str, branch: str | None) -> None:
    """The same rules as ``hub:`` in courseware.yaml, for values given on the command line: a link
    learners follow must point at a web hub, a clonable repository and a real branch name."""
    try:
        HubLinks(url=hub, repository=repository, branch=branch)
    except ValidationError as exc:
        raise AppsError(
            "; ".join(
                f"{_OPTIONS.get(str(e['loc'][0]), e['loc'][0])} {e['input']!r} {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        ) from None


@dataclass(frozen=True)
class ModuleLink:
    """One module's link for learners."""

    module: str
    title: str
    url: str
    part: str = ""  # the title of the course part the module is in, if the course has parts


def _modules(root: Path) -> dict[str, str]:
    """Module id -> title for every module that loads under ``root``."""
    found: dict[str, str] = {}
    for module in loadable_modules(root):
        found.setdefault(module.id, module.spec.title)
    return found


def _module_ids(target: str, root: Path, modules: dict[str, str]) -> list[tuple[str, str]]:
    """(module id, part title or "") for the module, or for each module of the course."""
    if target in modules:
        return [(target, "")]
    folder = Path(target)
    if (folder / "module.yaml").is_file():
        return [(load_module(folder).spec.id, "")]
    for path in find_courses(root):
        course = load_course(path).spec
        if course.id == target:
            if course.parts:
                return [(m, part.title) for part in course.parts for m in part.modules]
            return [(m, "") for m in course.modules]
    raise AppsError(f"no module or course with id {target!r} under {root}")


def module_links(
    target: str,
    *,
    hub: str | None = None,
    repository: str | None = None,
    branch: str | None = None,
    root: str | Path | None = None,
    config: AppConfig | None = None,
) -> list[ModuleLink]:
    """Links for a module, or for each module of a course in order (``target`` is an id or a
    module folder). ``hub``, ``repository`` and ``branch`` default to ``hub:`` in courseware.yaml.

    Raises :class:`AppsError` when the target is unknown, a course names a module that is not in
    this repository, or no hub or repository is given.
    """
    root = Path(root) if root is not None else curriculum_root()
    if config is None:
        try:
            config = load_config(find_config(root / "modules") or find_config(root))
        except ContentError as exc:
            raise AppsError(str(exc)) from None
    hub = hub or config.hub.url
    repository = repository or config.hub.repository
    branch = branch or config.hub.branch
    if not hub:
        raise AppsError("no hub address: give --hub URL or set hub.url in courseware.yaml")
    if not repository:
        raise AppsError(
            "no course repository: give --repo GIT_URL or set hub.repository in courseware.yaml"
        )
    _check_hub_links(hub, repository, branch)
    modules = _modules(root)
    try:
        ids = _module_ids(target, root, modules)
    except ContentError as exc:
        raise AppsError(str(exc)) from None
    missing = [m for m, _ in ids if m not in modules]
    if missing:
        raise AppsError(f"{target}: no module {', '.join(missing)} under {root}")
    return [
        ModuleLink(m, modules[m], pull_link(hub, repository, app_module_path(m), branch), part)
        for m, part in ids
    ]
