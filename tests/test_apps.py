"""The apps layer without a server: config validation, gallery rendering and filtering, kernel
accounting, the preheat cell, static caching rules."""

from __future__ import annotations

import asyncio
import gzip
import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import markupsafe
import nbformat
import pytest
from helpers import wait_until

from courseware.apps import AppConfig, AppsError, gallery_entries, load_config, render_gallery
from courseware.apps._bundle import ChunkBundle, is_chunk
from courseware.apps._config import contrast_ratio, resolve_config
from courseware.apps._kernels import CountingKernelManager, admitted_as
from courseware.apps._pages import Site
from courseware.apps._pools import kernel_manager_class
from courseware.apps._prelaunch import PREHEAT_CELL, PRERUN_CELL, make_prelaunch_hook
from courseware.apps._serve import preheated_notebooks
from courseware.apps._static import GZIP_CACHE, cache_seconds
from courseware.content import ContentError, find_modules, load_module

from conftest import FIXTURES, MODULES, run_coroutine

DEMO = FIXTURES / "modules"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- config --------------------------------------------------------------------------------


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    assert config.seminar.min_group == 5
    assert config.serve.kernel_cap >= 4
    assert contrast_ratio(config.branding.colours.brand, "#ffffff") >= 4.5


def test_hot_modules_default_to_two_but_none_in_a_learners_own_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A seminar room's server preheats the modules being used; on a hub, where one learner
    would pay about 100 MB a module, nothing is kept unless the deployer asks."""
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert load_config(None).serve.hot_count == 2
    assert resolve_config(tmp_path, None, hot_modules=0).serve.hot_count == 0
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    assert load_config(None).serve.hot_count == 0
    path = write(tmp_path / "courseware.yaml", "serve: {hot_modules: 3}\n")
    assert resolve_config(tmp_path, path, hot_modules=None).serve.hot_count == 3


def test_a_full_config_file_loads(tmp_path: Path) -> None:
    write(tmp_path / "logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    config = load_config(
        write(
            tmp_path / "courseware.yaml",
            "branding:\n"
            "  institution: Stoneygate Centre\n"
            "  logo: logo.svg\n"
            "  logo_alt: Stoneygate Centre logo\n"
            "  colours: {brand: '#5a1e6e'}\n"
            "serve: {max_kernels: 12, preheat: [demo], pool_size: 3}\n"
            "seminar: {min_group: 8}\n",
        )
    )
    assert config.branding.institution == "Stoneygate Centre"
    assert config.logo_path() == tmp_path / "logo.svg"
    assert (config.serve.kernel_cap, config.serve.pool_size) == (12, 3)
    assert config.seminar.min_group == 8


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("branding:\n  colours:\n    brand: '#ffff00'\n", 3, "branding.colours.brand", "contrast"),
        ("branding:\n  colours:\n    brand: '#737373'\n", 3, "branding.colours.brand", "4.38:1"),
        ("branding:\n  colours:\n    focus: '#222222'\n", 3, "branding.colours.focus", "focus"),
        ("branding:\n  colours:\n    brand: red\n", 3, "branding.colours.brand", "pattern"),
        ("serve:\n  max_kernel: 3\n", 2, "serve.max_kernel", "unknown field"),
        ("seminar:\n  min_group: 0\n", 2, "seminar.min_group", "greater than"),
        ("branding:\n  logo: nowhere.png\n  logo_alt: x\n", 2, "branding.logo", "no such file"),
        ("branding:\n  logo: notes.txt\n  logo_alt: x\n", 2, "branding.logo", "must be one of"),
        ("serve:\n  preheat:\n    - Not An Id\n", 3, "serve.preheat.0", "not a module id"),
    ],
)
def test_config_problems_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    path = write(tmp_path / "courseware.yaml", text)
    with pytest.raises(ContentError) as caught:
        load_config(path)
    (problem,) = [p for p in caught.value.problems if p.field == field]
    assert problem.line == line
    assert problem.file.endswith("courseware.yaml")
    assert words in problem.message


def test_a_logo_needs_its_text(tmp_path: Path) -> None:
    write(tmp_path / "logo.png", "png")
    with pytest.raises(ContentError, match="logo_alt is required"):
        load_config(write(tmp_path / "c.yaml", "branding:\n  logo: logo.png\n"))


def test_command_line_options_add_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "courseware.yaml", "serve: {preheat: [a], max_kernels: 9}\n")
    config = resolve_config(tmp_path, path, preheat=["b", "a"], max_kernels=None, min_group=7)
    assert config.serve.preheat == ["a", "b"]
    assert config.serve.max_kernels == 9
    assert config.seminar.min_group == 7
    with pytest.raises(AppsError, match="greater than"):
        resolve_config(tmp_path, path, max_kernels=0)
    with pytest.raises(AppsError, match=r"courseware\.yaml:\d+: YAML syntax error"):
        resolve_config(tmp_path, write(path, "serve: [\n"))


def test_the_config_beside_the_modules_is_found(tmp_path: Path) -> None:
    (tmp_path / "modules").mkdir()
    write(tmp_path / "courseware.yaml", "branding: {institution: Found}\n")
    assert resolve_config(tmp_path / "modules").branding.institution == "Found"


# -- gallery -------------------------------------------------------------------------------


def test_every_module_in_the_curriculum_is_in_the_gallery() -> None:
    entries = gallery_entries(MODULES)
    assert {e.id for e in entries} == {load_module(d).id for d in find_modules(MODULES)}
    page = render_gallery(MODULES, entries=entries)
    for entry in entries:
        assert f'href="{html.escape(entry.url)}"' in page
        assert f"About {entry.minutes} minutes" in page
        for outcome in entry.outcomes:
            assert str(markupsafe.escape(outcome)) in page


def test_gallery_groups_by_stream_then_stage_with_landmarks() -> None:
    page = render_gallery(DEMO)
    assert page.count("<main") == 1 and 'href="#main"' in page
    assert re.search(r"<h2[^>]*>Medical Foundation Year</h2>", page)
    assert re.search(r"<h3[^>]*>Medical Foundation Year</h3>", page)
    assert re.search(r"<h4><a href=\"/voila/render/demo/module.ipynb\"", page)
    assert '<form class="cw-filter" role="search" method="get"' in page
    assert '<label for="q">' in page


def test_gallery_filters_on_the_server(tmp_path: Path) -> None:
    entries = gallery_entries(MODULES)
    first = entries[0]
    word = first.title.split()[-1].strip("?").lower()
    matching = [e for e in entries if e.matches(word)]
    page = render_gallery(MODULES, entries=entries, query=word)
    assert page.count('class="cw-card"') == len(matching) >= 1
    none = render_gallery(MODULES, entries=entries, query="zzzz-no-such-word")
    assert 'class="cw-card"' not in none and "No module matches" in none
    stage = render_gallery(MODULES, entries=entries, stage=first.stage)
    assert stage.count('class="cw-card"') == sum(e.stage == first.stage for e in entries)
    ignored = render_gallery(MODULES, entries=entries, stream="<script>", stage="nope")
    assert ignored.count('class="cw-card"') == len(entries)


def test_gallery_escapes_what_it_is_given() -> None:
    entry = gallery_entries(DEMO)[0]
    hostile = entry.__class__(
        **{**entry.__dict__, "title": "<img src=x onerror=alert(1)>", "summary": "<script>"}
    )
    page = render_gallery(DEMO, entries=[hostile])
    assert "<img src=x" not in page and "<script>" not in page.split("<main")[1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    searched = render_gallery(DEMO, entries=[hostile], query='"><b>')
    assert 'value="&#34;&gt;&lt;b&gt;"' in searched


def test_branding_comes_from_the_config(tmp_path: Path) -> None:
    write(tmp_path / "logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    config = load_config(
        write(
            tmp_path / "c.yaml",
            "branding: {institution: 'Uni <of> Somewhere', title: 'Our modules', "
            "logo: logo.svg, logo_alt: 'Crest', colours: {brand: '#0b5d1e'}}\n",
        )
    )
    page = render_gallery(DEMO, site=Site(config, "/"))
    assert "Uni &lt;of&gt; Somewhere" in page
    assert "<title>Our modules \u2013 Uni &lt;of&gt; Somewhere</title>" in page
    assert '<img class="cw-logo" src="/courseware/brand/logo" alt="Crest">' in page
    assert "--brand: #0b5d1e" in page


# -- kernels -------------------------------------------------------------------------------


def counting_manager(cap: int, live: list[str]) -> CountingKernelManager:
    """The real kernel manager class, with a fixed list of live kernels (no processes)."""
    manager = kernel_manager_class(preheat=False)(max_kernels=cap)
    manager.list_kernel_ids = lambda: list(live)  # type: ignore[method-assign]
    return manager


def test_the_cap_counts_learner_kernels_and_admitted_views() -> None:
    live = ["pool-1"]
    m = counting_manager(2, live)
    m._pool_ids.add("pool-1")
    first = m.admit()
    second = m.admit()
    assert first is not None and second is not None
    assert m.admit() is None, "two views are waiting for kernels: the room is full"
    with admitted_as(first):
        m.claimed_from_pool("pool-1")  # the first view took the preheated kernel
    assert first.kernel_id == "pool-1" and m.learner_kernel_count() == 2
    m.release(first)
    m.release(second)
    assert m.learner_kernel_count() == 1 and m.admit() is not None
    assert m.status()["pooled_kernels"] == 0


def test_a_started_kernel_is_charged_to_its_ticket(tmp_path: Path) -> None:
    """A real kernel: started under a ticket it counts once, pooled ones not at all."""

    async def scenario() -> tuple[int, int, int]:
        manager = kernel_manager_class(preheat=False)(max_kernels=3, connection_dir=str(tmp_path))
        ticket = manager.admit()
        assert ticket is not None
        with admitted_as(ticket):
            learner = await manager.start_kernel(kernel_name="python3")
        pooled = await manager.start_kernel(kernel_name="python3", env={"VOILA_PREHEAT": "True"})
        during = manager.learner_kernel_count()
        manager.release(ticket)
        after = manager.learner_kernel_count()
        assert ticket.kernel_id == learner and manager.pooled_kernel_count() == 1
        await manager.shutdown_kernel(learner)
        await manager.shutdown_kernel(pooled)
        return during, after, manager.learner_kernel_count()

    assert run_coroutine(scenario()) == (1, 1, 0)


async def _evaluate(manager: CountingKernelManager, kernel_id: str, expression: str) -> str:
    """The repr of ``expression`` in a kernel, asked as a page's client would."""
    client = manager.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute(
            "", silent=True, user_expressions={"x": expression}, reply=True, timeout=60
        )
        value: str = reply["content"]["user_expressions"]["x"]["data"]["text/plain"]
        return value
    finally:
        client.stop_channels()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def test_a_fill_asked_for_while_one_runs_is_not_lost(tmp_path: Path) -> None:
    """A refill asked for while another is still starting a kernel (a pool emptied by a view)
    is done once that one ends, not dropped until some later page view asks again."""
    clock = Clock()

    async def scenario() -> None:
        manager = kernel_manager_class(preheat=False)(
            max_kernels=5,
            connection_dir=str(tmp_path),
            warm_kernels=2,
            warm_delay=1.0,
            clock=clock,
        )
        manager.schedule_warm_fill(0)
        await _until(lambda: manager._fill_task is not None, 10, "no fill started")
        first = manager._fill_task
        assert first is not None and not first.done()
        manager._start_fill()  # a second request's timer fires while the first fill runs
        assert manager._fill_task is first, "one fill at a time"
        await first
        await _until(
            lambda: manager._fill_task is not first and manager._fill_task is not None,
            10,
            "the second request to run after the first",
        )
        await manager.shutdown_all(now=True)

    run_coroutine(scenario())


def test_a_warm_kernel_takes_any_modules_page_view(tmp_path: Path) -> None:
    """Real kernels: the warm one has the courseware imported before anyone asks; a page view
    of any notebook takes it, in the notebook's folder with the request's environment, charged
    to the view's ticket; the spare is replaced only once views have stopped arriving."""
    (tmp_path / "stream" / "some-module").mkdir(parents=True)

    clock = Clock()

    async def scenario() -> None:
        manager = kernel_manager_class(preheat=False)(
            max_kernels=5,
            connection_dir=str(tmp_path),
            root_dir=str(tmp_path),
            warm_kernels=1,
            warm_delay=1.0,
            clock=clock,
        )
        manager.schedule_warm_fill(0)
        await _until(lambda: manager.status()["warm_kernels"] == 1, 90, "no warm kernel started")
        (warm,) = manager._warm_ready
        assert manager.status()["pooled_kernels"] == 0 and manager.learner_kernel_count() == 0
        imported = "sorted(m for m in ('courseware.widgets', 'ipywidgets') if m in sys.modules)"
        before = await _evaluate(manager, warm, imported.replace("sys.", "__import__('sys')."))
        assert before == "['courseware.widgets', 'ipywidgets']", "imports are done in advance"

        ticket = manager.admit()
        assert ticket is not None
        started = time.monotonic()
        with admitted_as(ticket):
            taken = await manager.start_kernel(
                kernel_name="python3",
                path="stream/some-module",
                env={"VOILA_REQUEST_URL": "http://127.0.0.1/voila/render/x.ipynb"},
            )
        claim_seconds = time.monotonic() - started
        assert taken == warm and ticket.kernel_id == warm
        assert manager.status()["warm_kernels"] == 0 and manager.learner_kernel_count() == 1
        where = await _evaluate(manager, taken, "__import__('os').getcwd()")
        assert where == repr(str(tmp_path / "stream" / "some-module"))
        url = await _evaluate(manager, taken, "__import__('os').environ['VOILA_REQUEST_URL']")
        assert url == repr("http://127.0.0.1/voila/render/x.ipynb")
        assert claim_seconds < 5, f"taking a warm kernel took {claim_seconds:.1f} s"

        # Another view while none is ready starts its own kernel at once (never waits).
        other_ticket = manager.admit()
        with admitted_as(other_ticket):
            fresh = await manager.start_kernel(kernel_name="python3", path="stream")
        assert fresh != warm and other_ticket is not None and other_ticket.kernel_id == fresh

        clock.now += 1.5  # quiet long enough, but both views are still rendering: a refill
        manager._start_fill()  # now (rather than at its timer) starts no kernel
        assert manager._fill_task is not None
        await manager._fill_task
        assert not manager._warm_starting and not manager._warm_ready, "refill during a render"
        manager.release(ticket)
        manager.release(other_ticket)
        await _until(lambda: manager.status()["warm_kernels"] == 1, 90, "no refill")
        assert manager.learner_kernel_count() == 2
        await manager.shutdown_all(now=True)

    run_coroutine(scenario())


def test_preheated_notebooks_wait_for_their_learner() -> None:
    """Imports only (the server cannot check saved work): the preheat cell first, so no cell of
    the module runs before the request. Pre-run: the module's cells first, the wait last."""
    hook = make_prelaunch_hook(DEMO)
    notebook = nbformat.read(DEMO / "demo" / "module.ipynb", as_version=4)
    assert notebook.cells[0].metadata.tags == ["courseware-open-as-app"]
    cells = len(notebook.cells) - 1  # the app drops the link that opens the app
    pooled = hook(None, nbformat.from_dict(notebook), "demo")
    assert len(pooled.cells) == cells + 1
    assert not [c for c in pooled.cells if "courseware-open-as-app" in c.metadata.get("tags", [])]
    first = pooled.cells[0].source
    assert first == PREHEAT_CELL
    assert first.index("import courseware.content") < first.index("_cw_wait_for_request()")
    assert pooled.metadata["title"] == "Demo module"
    viewed = hook(SimpleNamespace(), nbformat.from_dict(notebook), "demo")
    assert len(viewed.cells) == cells, "a page view runs the notebook as written, less the link"
    compile(PREHEAT_CELL, "<preheat>", "exec")

    prerun = make_prelaunch_hook(DEMO, prerun=lambda: True)
    ran = prerun(None, nbformat.from_dict(notebook), "demo")
    assert [c.source for c in ran.cells[:-1]] == [c.source for c in notebook.cells[1:]]
    assert ran.cells[-1].source == PRERUN_CELL and "_cw_wait_for_request()" in PRERUN_CELL
    viewed = prerun(SimpleNamespace(), nbformat.from_dict(notebook), "demo")
    assert PRERUN_CELL not in [c.source for c in viewed.cells], "only pooled kernels wait"
    compile(PRERUN_CELL, "<prerun>", "exec")


def test_learned_chunks_are_joined_into_one_script_once_the_list_is_frozen(
    tmp_path: Path,
) -> None:
    """The chunks module pages asked for, in their order, as one script named by its content;
    entry points (``voila.js``, ``remoteEntry``) stay separate; nothing before the list is frozen."""
    from courseware.apps._static import PreloadList

    page = "http://127.0.0.1:1/voila/render/a/module.ipynb"
    files = {
        "/voila/static/voila.js": b"entry()",
        "/voila/static/5764.voila.js": b"(self.webpackChunk=self.webpackChunk||[]).push([[5764],{}])",
        "/voila/labextensions/@w/m/static/remoteEntry.ab12.js": b"var _JUPYTERLAB;",
        "/voila/labextensions/@w/m/static/84.09c6.js?v=09c6": b"(self.chunkW=self.chunkW||[]).push([[84],{}])",
        "/voila/static/143.voila.js": b"(self.webpackChunk=self.webpackChunk||[]).push([[143],{}])//end",
    }
    clock = Clock()
    learner = PreloadList(window=20, clock=clock)
    for number, (uri, body) in enumerate(files.items()):
        path = tmp_path / f"{number}.js"
        path.write_bytes(body)
        request = SimpleNamespace(
            method="GET", uri=uri, path=uri.split("?")[0], headers={"Referer": page}
        )
        learner.observe(
            SimpleNamespace(request=request, get_status=lambda: 200, absolute_path=str(path))  # type: ignore[arg-type]
        )
    bundles = ChunkBundle(learner)
    assert bundles.ready() is None and bundles.page_metadata() is None, "the list is still open"
    clock.now += 21
    bundles.ready()  # starts building, off the caller's thread
    wait_until(lambda: bundles.bundle is not None, "the bundle", seconds=10)
    bundle = bundles.bundle
    assert bundle is not None
    chunks = [u for u in files if is_chunk(u)]
    assert chunks == list(bundle.covers) and len(chunks) == 3
    assert bundle.body == b"\n;\n".join(files[u] for u in chunks) + b"\n"
    assert gzip.decompress(bundle.gzipped) == bundle.body
    meta = bundles.page_metadata()
    assert meta == {"src": f"courseware/chunks.js?v={bundle.version}", "covers": chunks}
    assert not is_chunk("/voila/static/voila.js?v=1")
    assert not is_chunk("/voila/labextensions/x/static/remoteEntry.1dcf.js")


def test_unknown_modules_cannot_be_preheated() -> None:
    assert preheated_notebooks(DEMO, ["demo"]) == ["demo/module.ipynb"]
    with pytest.raises(AppsError, match="no-such-module"):
        preheated_notebooks(DEMO, ["no-such-module"])


# -- static files --------------------------------------------------------------------------


def test_cache_rules() -> None:
    versioned = SimpleNamespace(arguments={"v": [b"abc"]})
    plain = SimpleNamespace(arguments={})
    assert cache_seconds(versioned, "7155.voila.js") == 365 * 24 * 3600
    assert cache_seconds(plain, "static/remoteEntry.c8c9eed2cdefdeac.js") == 365 * 24 * 3600
    assert cache_seconds(plain, "7155.voila.js") == 3600


def test_compressed_copies_follow_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.js", "x" * 5000)
    first = GZIP_CACHE.get(str(path))
    assert gzip.decompress(first) == b"x" * 5000
    assert GZIP_CACHE.get(str(path)) is first
    write(path, "y" * 6000)
    assert gzip.decompress(GZIP_CACHE.get(str(path))) == b"y" * 6000


def test_app_config_is_frozen() -> None:
    with pytest.raises(ValueError):
        AppConfig().branding.institution = "changed"  # type: ignore[misc]


def test_preload_list_learns_from_module_pages_then_freezes() -> None:
    from courseware.apps._static import PreloadList

    def served(uri: str, referer: str, status: int = 200) -> SimpleNamespace:
        request = SimpleNamespace(
            method="GET", uri=uri, path=uri.split("?")[0], headers={"Referer": referer}
        )
        return SimpleNamespace(request=request, get_status=lambda: status)

    page = "http://127.0.0.1:1/voila/render/a/module.ipynb"
    clock = Clock()
    learner = PreloadList(window=20, limit=3, clock=clock)
    learner.observe(served("/voila/static/1.voila.js", "http://127.0.0.1:1/"))  # the gallery
    learner.observe(served("/voila/static/x.css", page))  # not a script
    learner.observe(served("/voila/static/missing.js", page, status=404))
    assert learner.urls == [] and not learner.frozen
    for name in ("1", "2", "2", "3", "4"):
        learner.observe(served(f"/voila/labextensions/e/{name}.js?v=abc", page))  # type: ignore[arg-type]
    assert learner.urls == [f"/voila/labextensions/e/{n}.js?v=abc" for n in "123"]
    clock.now += 20
    assert not learner.frozen, "the window is still open"
    clock.now += 0.01
    assert learner.frozen
    learner.observe(served("/voila/static/late.js", page))  # type: ignore[arg-type]
    assert len(learner.urls) == 3


def test_the_command_line_explains_bad_configs_and_unknown_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from courseware.cli import main

    bad = write(tmp_path / "courseware.yaml", "serve:\n  max_kernels: none\n")
    assert main(["serve", str(DEMO), "--config", str(bad)]) == 1
    assert "courseware.yaml:2: serve.max_kernels:" in capsys.readouterr().err
    assert main(["serve", str(DEMO), "--preheat", "nope"]) == 1
    assert "no module with id nope" in capsys.readouterr().err
    assert main(["seminar", "nope", "--root", str(DEMO)]) == 1
    assert "no module 'nope'" in capsys.readouterr().err
