"""A seminar for real: ``courseware seminar`` on loopback, a presenter and three learners, each in
a Chromium context of their own (their own cookies, like their own phones)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_helpers import WIDER_THAN_SCREEN, axe_violations, describe, watch_requests
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, WebSocketRoute, expect

from courseware.apps import seminar_questions
from courseware.content import find_modules, load_module

from conftest import MODULES, VoilaServer

pytestmark = pytest.mark.browser
MODULE = load_module(find_modules(MODULES)[0])
MODULE_PATH = MODULE.notebook.relative_to(MODULES).as_posix()
QUESTIONS = seminar_questions(MODULE)
CHOICE = next(q for q in QUESTIONS if q.kind == "choice")
OPEN = next(q for q in QUESTIONS if q.id == "say-next")
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
FORMULA = '=HYPERLINK("http://example.invalid","click")'


@pytest.fixture(scope="module")
def seminar_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    folder = tmp_path_factory.mktemp("seminar")
    config = folder / "courseware.yaml"
    config.write_text("serve: {pool_size: 1}\nseminar: {min_group: 3}\n", encoding="utf-8")
    server = VoilaServer(
        MODULES,
        folder / "responses.sqlite",
        command=["seminar", MODULE.id, "--root", str(MODULES), "--config", str(config)],
    )
    yield server
    server.stop()


def presenter_link(server: VoilaServer) -> str:
    found = re.search(r"Presenter view.*?(http://\S+)", server.log_path.read_text("utf-8"))
    assert found, "courseware seminar prints the presenter's link"
    return found.group(1)


def record_dialogs(page: Page, seen: list[str]) -> Callable[[Dialog], None]:
    """Note every alert/confirm the page opens (hostile text must open none)."""

    def handler(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", handler)
    return handler


@pytest.fixture
def room(
    browser: Browser, seminar_server: VoilaServer
) -> Iterator[tuple[Page, list[Page], list[list[str]]]]:
    contexts: list[BrowserContext] = [browser.new_context() for _ in range(4)]
    presenter = contexts[0].new_page()
    learners = [c.new_page() for c in contexts[1:]]
    outside = [watch_requests(p, seminar_server) for p in (presenter, *learners)]
    yield presenter, learners, outside
    for context in contexts:
        context.close()


def test_a_seminar_with_three_learners(
    room: tuple[Page, list[Page], list[list[str]]], seminar_server: VoilaServer
) -> None:
    presenter, learners, outside = room
    link = presenter_link(seminar_server)

    # The presenter's secret link sets a cookie and leaves the address bar clean.
    presenter.goto(link)
    expect(presenter).to_have_url(seminar_server.url + "seminar/present")
    expect(presenter.get_by_role("heading", level=1)).to_have_text(MODULE.spec.title)
    expect(presenter.get_by_role("img", name="QR code of the join address")).to_be_visible()
    expect(presenter.locator(".cw-join-url")).to_have_text(seminar_server.url + "join")
    assert presenter.locator(".cw-qr svg path").count() >= 1
    assert not (found := axe_violations(presenter)), describe(found)

    for page in learners:
        page.goto(seminar_server.url + "join")
        expect(page.get_by_text("Waiting for the presenter")).to_be_visible()
    assert not (found := axe_violations(learners[0])), describe(found)
    expect(presenter.locator("#cw-connected")).to_have_text("3 people connected.")

    # A choice question: the learners' pages change by themselves.
    presenter.get_by_role("button", name=f"Ask the room: {CHOICE.prompt} ({CHOICE.source})").click()
    for page, option in zip(learners, (0, 0, 1), strict=True):
        expect(page.get_by_role("group", name=CHOICE.prompt)).to_be_visible()
        page.get_by_role("radio", name=CHOICE.options[option]).check()
        page.get_by_role("button", name="Send my answer").click()
        expect(page.get_by_text("your answer has been sent")).to_be_visible()
    assert not (found := axe_violations(learners[2])), describe(found)
    expect(presenter.locator("#cw-total")).to_have_text("3 answers")
    rows = presenter.locator("#cw-chart tbody tr")
    expect(rows).to_have_count(len(CHOICE.options))

    def count(option: int) -> Any:  # the row of an option, wherever the session's order put it
        header = presenter.get_by_role("rowheader", name=CHOICE.options[option], exact=True)
        return rows.filter(has=header).locator("td.cw-num")

    expect(count(0)).to_have_text("2 (67%)")
    expect(count(1)).to_have_text("1 (33%)")
    # changing one's mind replaces one's own answer only
    learners[2].get_by_role("radio", name=CHOICE.options[0]).check()
    learners[2].get_by_role("button", name="Send my answer").click()
    expect(count(0)).to_have_text("3 (100%)")
    expect(presenter.locator("#cw-total")).to_have_text("3 answers")
    assert not (found := axe_violations(presenter)), describe(found)

    # A written answer: held for moderation; hostile text stays text.
    dialogs: list[str] = []
    handlers = [(p, record_dialogs(p, dialogs)) for p in (presenter, *learners)]
    presenter.get_by_role("button", name=f"Ask the room: {OPEN.prompt} ({OPEN.source})").click()
    for page, words in zip(learners, (HOSTILE, "That sounds frightening.", FORMULA), strict=True):
        box = page.get_by_role("textbox", name=OPEN.prompt)
        expect(box).to_be_visible()
        box.fill(words)
        page.get_by_role("button", name="Send my answer").click()
        expect(page.get_by_text("your answer has been sent")).to_be_visible()
    queue = presenter.locator("#cw-queue li")
    expect(queue).to_have_count(3)
    expect(queue.filter(has_text="pwned").locator(".cw-text")).to_have_text(HOSTILE)
    # grouped by what the reply coder (in the seminar server) found; codes said in words
    frightened = queue.filter(has_text="That sounds frightening.")
    expect(frightened.locator(".cw-codes")).to_contain_text("Naming", timeout=30_000)
    expect(presenter.locator("#cw-queue h3.cw-code-group", has_text="Naming (")).to_have_count(1)
    expect(presenter.locator("#cw-code-counts")).to_contain_text("Naming: ")  # 3 = min_group
    expect(presenter.locator("#cw-approved li")).to_have_count(0)
    for page in learners:  # nobody's page shows anyone's words (their own stay in their box)
        shown = page.locator("main").inner_text()
        assert "frightening" not in shown and "HYPERLINK" not in shown and "<img" not in shown
    presenter.get_by_role("button", name=f"Approve: {HOSTILE}").click()
    presenter.get_by_role("button", name="Approve: That sounds frightening.").click()
    presenter.get_by_role("button", name=f"Reject: {FORMULA}").click()
    approved = presenter.locator("#cw-approved li")
    expect(approved).to_have_count(2)
    expect(approved.nth(0).locator(".cw-text")).to_have_text(HOSTILE)
    # an approval can be withdrawn: the answer leaves the screen and waits again
    presenter.get_by_role("button", name="Withdraw: That sounds frightening.").click()
    expect(approved).to_have_count(1)
    expect(queue).to_have_count(1)
    presenter.get_by_role("button", name="Approve: That sounds frightening.").click()
    expect(queue).to_have_count(0)
    assert presenter.locator("#cw-approved img, #cw-approved script").count() == 0
    assert presenter.title() != "pwned" and dialogs == []
    for page, handler in handlers:
        page.remove_listener("dialog", handler)
    assert not (found := axe_violations(presenter)), describe(found)

    # The room screen (a second window for the projector) shows results, never the queue.
    screen = presenter.context.new_page()
    screen.goto(seminar_server.url + "seminar/present/screen")
    expect(screen.locator("#cw-approved li")).to_have_count(2)
    expect(screen.get_by_role("button", name="Withdraw: That sounds frightening.")).to_be_hidden()
    expect(screen.get_by_role("heading", name="Written answers waiting for you")).to_be_hidden()
    expect(screen.get_by_role("button", name="Start a new group")).to_be_hidden()
    assert not (found := axe_violations(screen)), describe(found)
    screen.close()

    # The export: aggregate, small groups blank, formulas neutralised, nobody's id.
    response = presenter.request.get(seminar_server.url + "seminar/results.csv")
    assert response.status == 200 and "attachment" in response.headers["content-disposition"]
    rows_ = list(csv.reader(io.StringIO(response.text())))
    counts = {r[5]: r[6] for r in rows_ if r[2] == CHOICE.id}
    assert counts[CHOICE.options[0]] == "3"
    assert [r[5] for r in rows_ if r[8] == "approved by the presenter"] == [
        HOSTILE,
        "That sounds frightening.",
    ]
    assert not any(cell.startswith(("=", "+", "@")) for row in rows_ for cell in row)

    # Reset for the next group: learners wait again, the old answers leave the screen.
    presenter.once("dialog", lambda d: d.accept())
    presenter.get_by_role("button", name="Start a new group").click()
    expect(presenter.locator("#cw-round")).to_have_text("2")
    for page in learners:
        expect(page.get_by_text("Waiting for the presenter")).to_be_visible()
    assert all(found == [] for found in outside), outside


def test_learners_cannot_act_as_the_presenter(
    room: tuple[Page, list[Page], list[list[str]]], seminar_server: VoilaServer
) -> None:
    presenter, learners, _ = room
    learner = learners[0]
    response = learner.goto(seminar_server.url + "seminar/present")
    assert response is not None and response.status == 403
    expect(learner.get_by_role("heading", level=1)).to_have_text("This page is for the presenter")
    assert not (found := axe_violations(learner)), describe(found)
    wrong = learner.goto(seminar_server.url + "seminar/present?token=guess")
    assert wrong is not None and wrong.status == 403
    csv_response = learner.request.get(seminar_server.url + "seminar/results.csv")
    assert csv_response.status == 403

    # During a seminar the modules are the presenter's: learners are sent to the join page and
    # start no kernel.
    module_url = seminar_server.url + "voila/render/" + MODULE_PATH
    for url in (seminar_server.url, module_url):
        learner.goto(url)
        expect(learner).to_have_url(seminar_server.url + "join")
    presenter.goto(presenter_link(seminar_server))
    expect(presenter.locator("#cw-connected")).to_contain_text("connected")
    with presenter.context.expect_page() as opened:
        presenter.get_by_role("link", name="Present the module (opens a new tab)").click()
    module_page = opened.value
    expect(module_page.locator("button.cw-choice").first).to_be_enabled(timeout=60_000)
    expect(module_page).to_have_title(MODULE.spec.title)
    module_page.close(run_before_unload=True)
    learner.goto(seminar_server.url + "join")
    # From a learner's page: the presenter socket refuses them, the learner socket ignores
    # presenter commands, and answers to a question that is not open are refused.
    outcome = learner.evaluate(
        """async (base) => {
          const talk = (path, message) => new Promise(resolve => {
            const ws = new WebSocket(base.replace('http', 'ws') + path);
            const heard = [];
            ws.onopen = () => { if (message) ws.send(JSON.stringify(message)); };
            ws.onmessage = e => { heard.push(JSON.parse(e.data)); if (heard.length > 1) ws.close(); };
            ws.onclose = e => resolve({code: e.code, heard});
            setTimeout(() => ws.close(), 3000);
          });
          return {
            presenter: await talk('seminar/ws/presenter', {type: 'reset'}),
            learner: await talk('seminar/ws/learner', {type: 'open', question: 'say-next'}),
            answer: await talk('seminar/ws/learner',
                               {type: 'answer', question: 'say-next', text: 'sneaky'}),
          };
        }""",
        seminar_server.url,
    )
    assert outcome["presenter"]["code"] == 4403
    assert [m["type"] for m in outcome["learner"]["heard"]] == ["state", "error"]
    assert outcome["answer"]["heard"][1] == {
        "type": "error",
        "message": "That question is not open for answers any more.",
    }
    state = json.loads(json.dumps(outcome["learner"]["heard"][0]))
    assert state["question"] is None
    expect(presenter.locator("#cw-current")).to_contain_text("No question is open yet.")


def test_a_learner_without_javascript_can_answer(
    browser: Browser, seminar_server: VoilaServer, room: tuple[Page, list[Page], list[list[str]]]
) -> None:
    presenter, _, _ = room
    presenter.goto(presenter_link(seminar_server))
    presenter.get_by_role("button", name=f"Ask the room: {CHOICE.prompt} ({CHOICE.source})").click()
    # The question opens when the server has it (the presenter's page shows it then); a page
    # without JavaScript shows what was open when it was fetched, so fetch it after that.
    expect(presenter.locator("#cw-status")).to_have_text("Taking answers now.")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(seminar_server.url + "join")
    assert page.evaluate(WIDER_THAN_SCREEN) == [], "the join page reflows on a phone"
    page.get_by_role("radio", name=CHOICE.options[1]).check()
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("status")).to_have_text("Thank you: your answer has been sent.")
    expect(page.get_by_role("radio", name=CHOICE.options[1])).to_be_checked()
    expect(presenter.locator("#cw-total")).to_have_text("1 answer")
    forged = context.request.post(
        seminar_server.url + "join",
        form={"token": "forged", "question": CHOICE.id, "choice": "0"},
    )
    assert forged.status == 403
    context.close()


def test_a_question_asked_while_reconnecting_is_sent_when_the_connection_is_back(
    room: tuple[Page, list[Page], list[list[str]]], seminar_server: VoilaServer
) -> None:
    presenter, learners, _ = room
    attempts: list[str] = []
    network_back = False  # the wifi stays down (every attempt dropped) until the click is made

    def drop_until_back(ws: WebSocketRoute) -> None:
        attempts.append(ws.url)
        if network_back:
            ws.connect_to_server()
        else:
            ws.close(code=1011, reason="wifi dropped")

    presenter.route_web_socket(re.compile(r".*/seminar/ws/presenter.*"), drop_until_back)
    presenter.goto(presenter_link(seminar_server))
    expect(presenter.locator("#cw-connected")).to_have_text("Connection lost; trying again…")
    # The presenter asks while the page is between connections (it keeps retrying).
    presenter.get_by_role("button", name=f"Ask the room: {OPEN.prompt} ({OPEN.source})").click()
    expect(presenter.locator("#cw-announce")).to_contain_text("Not connected yet")
    dropped = len(attempts)
    network_back = True
    # The page retries with back-off (1 s doubling to 10 s): the question goes on the next one.
    expect(presenter.locator("#cw-question-prompt")).to_have_text(OPEN.prompt, timeout=20_000)
    expect(presenter.locator("#cw-status")).to_have_text("Taking answers now.")
    assert dropped >= 1 and len(attempts) == dropped + 1
    learners[0].goto(seminar_server.url + "join")
    expect(learners[0].get_by_role("textbox", name=OPEN.prompt)).to_be_visible()
    presenter.get_by_role("button", name="Close answers").click()
    expect(presenter.locator("#cw-status")).to_have_text("Answers are closed.")


def test_a_full_seminar_says_so_accessibly(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("full-seminar")
    config = folder / "courseware.yaml"
    config.write_text("serve: {pool_size: 1}\nseminar: {max_people: 1}\n", encoding="utf-8")
    server = VoilaServer(
        MODULES,
        folder / "responses.sqlite",
        command=["seminar", MODULE.id, "--root", str(MODULES), "--config", str(config)],
    )
    inside, outside = browser.new_context(), browser.new_context()
    try:
        first = inside.new_page()
        first.goto(server.url + "join")
        expect(first.get_by_text("Waiting for the presenter")).to_be_visible()
        late = outside.new_page()
        status = 200
        for _ in range(50):  # until the first page's connection holds the one place
            response = late.goto(server.url + "join")
            assert response is not None
            status = response.status
            if status == 503:
                break
            late.wait_for_timeout(200)
        assert status == 503
        expect(late).to_have_title(re.compile(r"^This seminar is full"))
        expect(late.get_by_role("heading", level=1)).to_have_text("This seminar is full")
        expect(late.get_by_role("link", name="Try again")).to_be_visible()
        assert not (found := axe_violations(late)), describe(found)
        first.reload()  # the person inside keeps their place
        expect(first.get_by_text("Waiting for the presenter")).to_be_visible()
    finally:
        inside.close()
        outside.close()
        server.stop()
