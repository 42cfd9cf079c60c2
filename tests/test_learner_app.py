"""The pieces that bring learners to the app, without a hub: links, the base URL, the proxy entry
point and its guard, module notebooks' open-as-app cell, the learners' Jupyter config.

``courseware serve --base-url`` runs for real on loopback (as jupyter-server-proxy starts it inside
a learner's server); the whole path through JupyterHub is tests/test_hub_learner_browser.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from courseware.apps import AppsError, ModuleLink, load_config, module_links, render_gallery
from courseware.apps._proxy import HEADER, TOKEN_VARIABLE, server_proxy
from courseware.apps._serve import normalise_base_url
from courseware.content import ContentError
from courseware.content._check import check_paths
from courseware.hub import configure_hub
from courseware.hub._config import LEARNER_JUPYTER_CONFIG

from conftest import FIXTURES, MODULES, REPO, ServerProcess, free_port

HUB = "https://hub.example.ac.uk"
GIT = "https://git.example.ac.uk/empathy/course.git"
BASE = "/user/ana/courseware/"


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# -- links ---------------------------------------------------------------------------------------


def test_a_module_link_pulls_the_course_then_opens_the_module() -> None:
    (found,) = module_links("what-is-clinical-empathy", hub=HUB + "/", repository=GIT, root=REPO)
    assert isinstance(found, ModuleLink) and found.title == "What is clinical empathy?"
    assert found.url.startswith(f"{HUB}/hub/user-redirect/git-pull?")
    assert query(found.url) == {
        "repo": GIT,
        "urlpath": "courseware/module/what-is-clinical-empathy",
    }
    (branch,) = module_links(
        str(MODULES / "foundation-year" / "listening-and-noticing"),
        hub=HUB,
        repository=GIT,
        branch="spring-2027",
        root=REPO,
    )
    assert query(branch.url)["branch"] == "spring-2027"
    assert query(branch.url)["urlpath"] == "courseware/module/listening-and-noticing"


def test_a_course_gives_one_link_per_module_in_order() -> None:
    found = module_links("postgraduate-clinical-empathy", hub=HUB, repository=GIT, root=REPO)
    assert [link.module for link in found] == [
        "empathy-under-pressure",
        "uncertainty-errors-and-candour",
        "empathy-with-families-and-carers",
    ]
    assert [query(link.url)["urlpath"].rsplit("/", 1)[1] for link in found] == [
        link.module for link in found
    ]


def test_links_say_what_is_missing() -> None:
    with pytest.raises(AppsError, match="no module or course with id 'no-such-thing'"):
        module_links("no-such-thing", hub=HUB, repository=GIT, root=REPO)
    with pytest.raises(AppsError, match="give --hub URL"):
        module_links("what-is-clinical-empathy", repository=GIT, root=REPO)
    with pytest.raises(AppsError, match="give --repo GIT_URL"):
        module_links("what-is-clinical-empathy", hub=HUB, root=REPO)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("hub", "javascript:alert(1)", "--hub 'javascript:alert(1)' must be the hub's web address"),
        ("repository", "--upload-pack=touch /tmp/x", "--repo '--upload-pack=touch /tmp/x' must"),
        ("repository", "-uhost", "--repo '-uhost' must not start with '-'"),
        ("repository", "ext::sh", "--repo 'ext::sh' must be the course repository's git address"),
        ("branch", "; rm -rf /", "--branch '; rm -rf /' must be one word"),
        ("branch", "main..evil", "--branch 'main..evil' is not a branch name git accepts"),
    ],
)
def test_a_link_refuses_what_a_learner_should_never_follow(
    option: str, value: str, says: str
) -> None:
    """Values given on the command line meet the rules of courseware.yaml's ``hub:`` section: a
    link never carries a script address, a git option or a made-up branch into learners' hands."""
    given: dict[str, str] = {"hub": HUB, "repository": GIT, option: value}
    with pytest.raises(AppsError) as info:
        module_links("what-is-clinical-empathy", root=REPO, **given)
    assert says in str(info.value)


def test_a_link_may_pull_from_a_path_or_an_ssh_address() -> None:
    for repository in ("/srv/courses/empathy.git", "git@git.example.ac.uk:empathy/course.git"):
        (found,) = module_links(
            "what-is-clinical-empathy",
            hub=HUB,
            repository=repository,
            branch="team/2027",
            root=REPO,
        )
        assert query(found.url)["repo"] == repository and query(found.url)["branch"] == "team/2027"


def test_links_come_from_courseware_yaml(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(MODULES / "foundation-year", course / "modules" / "foundation-year")
    (course / "courseware.yaml").write_text(
        f"hub:\n  url: {HUB}\n  repository: {GIT}\n  branch: main\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "courseware.cli", "link", "listening-and-noticing"],
        capture_output=True,
        text=True,
        cwd=course,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (url,) = done.stdout.split()
    assert query(url) == {
        "repo": GIT,
        "branch": "main",
        "urlpath": "courseware/module/listening-and-noticing",
    }


def test_bad_hub_settings_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "courseware.yaml"
    path.write_text(
        "branding:\n  title: Modules\nhub:\n  url: hub.example.ac.uk\n  repository: two words\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as info:
        load_config(path)
    lines = [str(p) for p in info.value.problems]
    assert any(":4: hub.url: " in line and "http" in line for line in lines), lines
    assert any(":5: hub.repository: " in line for line in lines), lines


def test_course_pathways_give_learners_links_when_configured(tmp_path: Path) -> None:
    path = tmp_path / "courseware.yaml"
    path.write_text(f"hub:\n  url: {HUB}\n  repository: {GIT}\n", encoding="utf-8")
    from courseware.apps._pages import Site

    page = render_gallery(MODULES, site=Site(load_config(path), BASE))
    assert page.count('class="cw-hub-link"') >= 4
    assert (
        "git-pull?repo=" in page and "urlpath=courseware%2Fmodule%2Fempathy-under-pressure" in page
    )
    assert "cw-hub-link" not in render_gallery(MODULES, base_url=BASE)  # not configured: none


# -- the app behind jupyter-server-proxy ------------------------------------------------------


def test_base_urls_are_normalised_and_checked() -> None:
    assert normalise_base_url("user/ana/courseware") == BASE
    assert normalise_base_url("/") == "/"
    for bad in ("/user/../etc/", "/a?b/", "/a#b/"):
        with pytest.raises(AppsError):
            normalise_base_url(bad)


def test_the_proxy_entry_point_describes_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    (entry,) = [
        e for e in entry_points(group="jupyter_serverproxy_servers") if e.name == "courseware"
    ]
    assert entry.load() is server_proxy
    monkeypatch.setenv("COURSEWARE_APP_ROOT", "/srv/{odd} home")
    first, second = server_proxy(), server_proxy()
    assert first["command"][-4:] == ["--port", "{port}", "--base-url", "{base_url}courseware/"]
    assert "/srv/{{odd}} home" in first["command"]
    assert first["absolute_url"] is True
    assert first["launcher_entry"]["title"] == "Courseware modules"
    assert Path(first["launcher_entry"]["icon_path"]).read_text().startswith("<svg")
    token = first["environment"][TOKEN_VARIABLE]
    assert first["request_headers_override"] == {HEADER: token} and len(token) >= 32
    assert second["environment"][TOKEN_VARIABLE] != token


class BaseUrlServer(ServerProcess):
    """``courseware serve --base-url`` as jupyter-server-proxy starts it (secret in its env)."""

    def __init__(self, folder: Path, token: str) -> None:
        self.port = free_port()
        self.token = token
        self.url = f"http://127.0.0.1:{self.port}{BASE}"
        self.log = (folder / "serve.log").open("w")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "courseware.cli", "serve", str(MODULES)),
                *("--port", str(self.port), "--base-url", BASE),
            ],
            env={
                **os.environ,
                "COURSEWARE_STORE": str(folder / "responses.sqlite"),
                TOKEN_VARIABLE: token,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        deadline = time.monotonic() + 90
        while fetch(self.url, self.headers())[0] != 200:
            assert self.process.poll() is None, f"courseware serve exited: see {self.log.name}"
            assert time.monotonic() < deadline, "courseware serve --base-url did not answer"
            time.sleep(0.3)

    def headers(self) -> dict[str, str]:
        return {HEADER: self.token}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")
    except OSError:
        return 0, {}, ""


@pytest.fixture(scope="module")
def base_url_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseUrlServer]:
    server = BaseUrlServer(tmp_path_factory.mktemp("base-url"), "s3cret-" + "x" * 40)
    yield server
    server.stop()


def test_serve_keeps_every_page_below_its_base_url(base_url_server: BaseUrlServer) -> None:
    server, secret = base_url_server, base_url_server.headers()
    status, _, page = fetch(server.url, secret)
    assert status == 200
    assert f'action="{BASE}"' in page and f'href="{BASE}courseware/static/' in page
    assert (
        f'href="{BASE}voila/render/foundation-year/what-is-clinical-empathy/module.ipynb"' in page
    )
    status, headers, _ = fetch(f"{server.url}module/what-is-clinical-empathy", secret)
    assert status == 302
    assert (
        headers["Location"]
        == f"{BASE}voila/render/foundation-year/what-is-clinical-empathy/module.ipynb"
    )
    status, _, page = fetch(f"{server.url}module/no-such-module", secret)
    assert status == 404 and "Module not found" in page and f'href="{BASE}"' in page
    status, _, page = fetch(
        f"{server.url}voila/render/foundation-year/listening-and-noticing/module.ipynb", secret
    )
    assert status == 200
    assert f'data-base-url="{BASE}voila/"' in page and f'href="{BASE}">Back to all modules' in page
    assert "Open this module as an app" not in page  # the app drops the link to itself
    assert fetch(f"http://127.0.0.1:{server.port}/", secret)[0] == 404  # nothing outside it


def test_only_the_proxy_reaches_the_app(base_url_server: BaseUrlServer) -> None:
    """Any account on the machine can connect to a loopback port; only the proxy knows the secret."""
    server = base_url_server
    for headers in ({}, {HEADER: "guess"}, {HEADER: server.token[:-1]}):
        status, _, body = fetch(server.url, headers)
        assert status == 403 and "through your Jupyter server" in body
    status, _, _ = fetch(
        f"{server.url}voila/render/foundation-year/listening-and-noticing/module.ipynb"
    )
    assert status == 403
    assert fetch(server.url, server.headers())[0] == 200


# -- module notebooks ---------------------------------------------------------------------------


def test_every_module_notebook_opens_with_the_app_link_and_hidden_code() -> None:
    for notebook in sorted(MODULES.glob("*/*/module.ipynb")):
        nb = nbformat.read(notebook, as_version=4)
        first = nb.cells[0]
        module_id = notebook.parent.name
        assert first.cell_type == "markdown" and first.metadata.tags == ["courseware-open-as-app"]
        assert f"(/hub/user-redirect/courseware/module/{module_id})" in first.source, notebook
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.metadata.jupyter.source_hidden is True for c in code), notebook
        assert not any(c.outputs for c in code), notebook


def test_check_reports_a_notebook_without_the_link_and_fix_writes_it(tmp_path: Path) -> None:
    module = tmp_path / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    notebook = module / "module.ipynb"
    nb = json.loads(notebook.read_text())
    nb["cells"] = nb["cells"][1:]  # the link cell gone
    nb["cells"][1]["metadata"] = {}  # and one code cell's input showing
    notebook.write_text(json.dumps(nb, indent=1))
    problems = [str(p) for p in check_paths([module])]
    assert any(
        "the first cell must be the 'Open this module as an app' link" in p for p in problems
    )
    assert any(": cell 2: code a learner would see in JupyterLab" in p for p in problems), problems
    assert check_paths([module], fix=True) == []
    fixed = nbformat.read(notebook, as_version=4)
    assert fixed.cells[0].source.startswith("**[Open this module as an app](/hub/user-redirect/")
    before = notebook.read_text()
    assert check_paths([module], fix=True) == [] and notebook.read_text() == before  # idempotent


# -- learners' Jupyter config --------------------------------------------------------------------


def test_learner_servers_get_the_config_folder_merged_with_what_is_set() -> None:
    c = Config()
    c.Spawner.environment = {"JUPYTER_CONFIG_PATH": "/etc/site-jupyter"}
    configure_hub(c, courses=["course101"], database_url="sqlite:///x.sqlite")
    path = c.Spawner.environment["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert path == ["/etc/site-jupyter", str(LEARNER_JUPYTER_CONFIG)]
    page = json.loads((LEARNER_JUPYTER_CONFIG / "labconfig" / "page_config.json").read_text())
    disabled = page["disabledExtensions"]
    assert disabled["@jupyter/nbgrader:validate-assignment"] is True
    assert disabled["@jupyter/nbgrader:create-assignment"] is True
    assert "@jupyter/nbgrader:assignment-list" not in disabled  # learners fetch and submit
    fresh = Config()
    configure_hub(fresh, courses=["c"], database_url="sqlite:///x.sqlite")
    assert fresh.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(LEARNER_JUPYTER_CONFIG)
    image = Config()  # learners' servers from another image (Kubernetes): the path there
    configure_hub(image, courses=["c"], database_url="sqlite:///x", learner_config="/srv/lj")
    assert image.Spawner.environment["JUPYTER_CONFIG_PATH"] == "/srv/lj"
