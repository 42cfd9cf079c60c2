"""Stored events as xAPI 1.0.3 statements: one event, one statement, the same every time.

A statement depends only on its event and the institution's settings, so its id (a UUID5 over the
event's identity) is the same on every export and every resend: an LRS stores it once. The actor
is an ``account`` (the institution's home page and a keyed pseudonym), never a user name. What a
learner wrote (reflections, replies, notes, seminar answers) is sent only with ``send_text``;
otherwise a statement says that something was written and how many words, not what.
docs/xapi.md has the table; :data:`KINDS` is the same table in code.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .._pseudonym import Pseudonyms
from ..store import Event
from ._settings import XAPISettings

XAPI_VERSION = "1.0.3"
ADL_VERB = "http://adlnet.gov/expapi/verbs/"
ADL_ACTIVITY = "http://adlnet.gov/expapi/activities/"

VERBS = (
    "answered",
    "commented",
    "completed",
    "experienced",
    "initialized",
    "interacted",
    "progressed",
    "responded",
    "shared",
)
"""The ADL verbs the mapping uses (``http://adlnet.gov/expapi/verbs/<verb>``)."""

NAMESPACE = uuid.UUID("5b0c7b43-3d0e-5c52-9a3f-6f1d6e2a7c10")
"""Fixed namespace of statement ids and registrations (with the activity IRI in the name)."""


@dataclass(frozen=True)
class Kind:
    """How one event kind becomes a statement: the verb, the activity, what the result holds."""

    verb: str
    activity: (
        str  # module, case, node, exercise, reflection, question, questionnaire, seminar, poll
    )
    result: str = ""  # "", "text", "choice", "selfcheck", "cues", "codes", "likert", "certificate"
    text_keys: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    "vignette.step": Kind("responded", "node", "step"),
    "vignette.restart": Kind("initialized", "case"),
    "vignette.draft": Kind("progressed", "node", "text", ("text",)),
    "vignette.write": Kind("responded", "node", "text", ("text",)),
    "vignette.coded": Kind("interacted", "node", "coding"),
    "reflection.saved": Kind("progressed", "reflection", "text", ("text", "parts")),
    "reflection.shared": Kind("shared", "reflection", "text", ("text", "parts")),
    "reflection.unshared": Kind("interacted", "reflection"),
    "reflection.submitted": Kind("completed", "reflection", "text", ("text", "parts")),
    "choice.pick": Kind("answered", "exercise", "choice"),
    "compose.draft": Kind("progressed", "exercise", "text", ("text",)),
    "compose.submit": Kind("answered", "exercise", "text", ("text",)),
    "compose.code": Kind("interacted", "exercise", "codes"),
    "compose.coded": Kind("interacted", "exercise", "coding"),
    "cues.marks": Kind("progressed", "exercise", "cues"),
    "cues.submit": Kind("answered", "exercise", "cues"),
    "likert.draft": Kind("progressed", "questionnaire", "likert"),
    "likert.answer": Kind("completed", "questionnaire", "likert"),
    "timed.start": Kind("initialized", "exercise"),
    "timed.draft": Kind("progressed", "exercise", "text", ("text",)),
    "timed.submit": Kind("answered", "exercise", "text", ("text",)),
    "close_reading.saved": Kind("progressed", "exercise", "text", ("notes",)),
    "parallel_chart.saved": Kind("progressed", "exercise", "text", ("notes",)),
    "selfcheck.answer": Kind("answered", "question", "selfcheck"),
    "certificate.issued": Kind("completed", "module", "certificate"),
    "seminar.started": Kind("initialized", "seminar"),
    "seminar.opened": Kind("interacted", "seminar"),
    "seminar.closed": Kind("interacted", "seminar"),
    "seminar.round": Kind("interacted", "seminar"),
    "seminar.moderated": Kind("interacted", "seminar"),
    "seminar.answered": Kind("commented", "seminar", "seminar", ("text",)),
    "poll.answer": Kind("answered", "poll"),
}
"""Every event kind the courseware stores. Any other kind (a newer version's) maps to
``interacted`` with the item as its activity, so nothing stored is left out."""

OTHER = Kind("interacted", "item")

ACTIVITY_TYPES = {
    "module": ADL_ACTIVITY + "module",
    "case": ADL_ACTIVITY + "simulation",
    "node": ADL_ACTIVITY + "interaction",
    "exercise": ADL_ACTIVITY + "interaction",
    "reflection": ADL_ACTIVITY + "interaction",
    "question": ADL_ACTIVITY + "cmi.interaction",
    "questionnaire": ADL_ACTIVITY + "assessment",
    "seminar": ADL_ACTIVITY + "meeting",
    "poll": ADL_ACTIVITY + "cmi.interaction",
    "item": ADL_ACTIVITY + "interaction",
    "course": ADL_ACTIVITY + "course",
}


def _segment(text: str) -> str:
    """One IRI path segment (anything outside unreserved characters percent-encoded)."""
    from urllib.parse import quote

    return quote(text, safe="-._~")


def _iso(when: float) -> str:
    moment = datetime.datetime.fromtimestamp(when, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _words(value: Mapping[str, Any]) -> int | None:
    words = value.get("words")
    return words if isinstance(words, int) and not isinstance(words, bool) else None


def _duration(seconds: float) -> str:
    """ISO 8601 duration, as xAPI wants it (``PT12M3.5S``)."""
    seconds = max(0.0, round(seconds, 2))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"PT{int(hours)}H{int(minutes)}M{secs:g}S"


class Mapper:
    """Makes statements for one institution: its IRIs, its pseudonym key, its text rule."""

    def __init__(self, settings: XAPISettings) -> None:
        self.settings = settings
        self.base = settings.activity_base
        self._pseudonyms = Pseudonyms(settings.key)
        self._namespace = uuid.uuid5(NAMESPACE, self.base)

    def extension(self, name: str) -> str:
        return f"{self.base}extensions/{name}"

    def pseudonym(self, learner: str) -> str:
        return self._pseudonyms(learner)

    def actor(self, name: str) -> dict[str, Any]:
        return {
            "objectType": "Agent",
            "account": {"homePage": self.settings.home_page, "name": name},
        }

    # -- activity ids ----------------------------------------------------------------------------
    def module_iri(self, module: str) -> str:
        return f"{self.base}modules/{_segment(module)}"

    def activity(self, name: str, event: Event) -> tuple[str, str]:
        """(activity id, activity type) of the statement's object."""
        value = event.value if isinstance(event.value, Mapping) else {}
        module = self.module_iri(event.module)
        item = _segment(event.item)
        if name == "module":
            iri = module
        elif name == "case":
            iri = f"{module}/cases/{item}"
        elif name == "node":
            node = _segment(str(value.get("node", "")))
            iri = f"{module}/cases/{item}/nodes/{node}"
        elif name == "exercise":
            iri = f"{module}/exercises/{item}"
        elif name == "reflection":
            iri = f"{module}/reflections/{item}"
        elif name == "question":
            iri = f"{module}/self-check/{_segment(event.item.removeprefix('self-check/'))}"
        elif name == "questionnaire":
            iri = f"{module}/questionnaires/{item}"
        elif name == "seminar":
            seminar = _segment(event.module.removeprefix("seminar:"))
            iri = f"{self.base}seminars/{seminar}/sessions/{item}"
        elif name == "poll":
            iri = f"{self.base}polls/{item}"
        else:
            iri = f"{module}/items/{item}"
        return iri, ACTIVITY_TYPES[name]

    # -- identity --------------------------------------------------------------------------------
    def statement_id(self, event: Event) -> str:
        """A UUID5 over the event's identity: who (pseudonym), where, what kind, when, the value.

        The learner enters only as the keyed pseudonym, so nobody without the key can test a
        guess of who wrote what against an id.
        """
        digest = hashlib.sha256(
            json.dumps(
                event.value, ensure_ascii=False, sort_keys=True, separators=(",", ":")
            ).encode("utf-8", "surrogatepass")
        ).hexdigest()
        name = "\x1f".join(
            (self.pseudonym(event.learner), event.module, event.item, event.kind,
             repr(float(event.time)), digest)
        )  # fmt: skip
        return str(uuid.uuid5(self._namespace, name))

    def registration(self, learner: str, module: str) -> str:
        """The learner's registration in a module: the same for every statement about it."""
        return str(
            uuid.uuid5(self._namespace, f"registration\x1f{self.pseudonym(learner)}\x1f{module}")
        )

    # -- the statement ---------------------------------------------------------------------------
    def statement(self, event: Event, *, started: float | None = None) -> dict[str, Any]:
        """The xAPI statement for ``event``. ``started``: for ``timed.submit``, the time of the
        learner's ``timed.start`` (the result's duration)."""
        kind = KINDS.get(event.kind, OTHER)
        value = event.value if isinstance(event.value, Mapping) else {}
        iri, activity_type = self.activity(kind.activity, event)
        actor_name = self.pseudonym(event.learner)
        if event.kind == "seminar.answered" and isinstance(value.get("person"), str):
            # the participant (already a hash of their id, re-keyed here), not the presenter
            actor_name = self.pseudonym("seminar-person:" + value["person"])
        statement: dict[str, Any] = {
            "id": self.statement_id(event),
            "actor": self.actor(actor_name),
            "verb": {"id": ADL_VERB + kind.verb, "display": {"en-GB": kind.verb}},
            "object": {
                "objectType": "Activity",
                "id": iri,
                "definition": {"type": activity_type},
            },
            "timestamp": _iso(event.time),
            "context": self._context(event, kind),
            "version": XAPI_VERSION,
        }
        result = self._result(event, kind, value, started)
        if result:
            statement["result"] = result
        return statement

    def _context(self, event: Event, kind: Kind) -> dict[str, Any]:
        extensions: dict[str, Any] = {self.extension("event-kind"): event.kind}
        context: dict[str, Any] = {"platform": "courseware", "language": "en-GB"}
        parents: list[dict[str, Any]] = []
        grouping: list[dict[str, Any]] = []
        course_module: str | None = event.module
        if kind.activity in ("seminar", "poll"):
            course_module = None
            if event.module.startswith("seminar:"):
                course_module = event.module.removeprefix("seminar:")
                grouping.append(self._ref(self.module_iri(course_module), "module"))
        else:
            context["registration"] = self.registration(event.learner, event.module)
            if kind.activity == "node":
                case, _ = self.activity("case", event)
                parents.append(self._ref(case, "case"))
                grouping.append(self._ref(self.module_iri(event.module), "module"))
            elif kind.activity != "module":
                parents.append(self._ref(self.module_iri(event.module), "module"))
        for course in self.settings.courses.get(course_module or "", []):
            grouping.append(self._ref(f"{self.base}courses/{_segment(course)}", "course"))
        activities: dict[str, Any] = {}
        if parents:
            activities["parent"] = parents
        if grouping:
            activities["grouping"] = grouping
        if activities:
            context["contextActivities"] = activities
        context["extensions"] = extensions
        return context

    @staticmethod
    def _ref(iri: str, name: str) -> dict[str, Any]:
        return {"objectType": "Activity", "id": iri, "definition": {"type": ACTIVITY_TYPES[name]}}

    def _result(
        self, event: Event, kind: Kind, value: Mapping[str, Any], started: float | None
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        shape = RESULTS.get(kind.result)
        if shape is not None:
            shape(self, value, result, extensions)
        if kind.text_keys:
            words = _words(value)
            if words is not None:
                extensions[self.extension("words")] = words
            if self.settings.send_text:
                text = _written(value, kind.text_keys)
                if text:
                    result["response"] = text
        if event.kind == "timed.submit" and started is not None:
            result["duration"] = _duration(event.time - started)
        if extensions:
            result["extensions"] = extensions
        return result


def _written(value: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """A learner's text in one string (notes and guided parts joined, as the portfolio does)."""
    for key in keys:
        found = value.get(key)
        if isinstance(found, str) and found:
            return found
        if isinstance(found, Mapping):
            parts = [str(t) for t in found.values() if isinstance(t, str) and t]
            if parts:
                return "\n\n".join(parts)
        if isinstance(found, list):
            parts = [str(t) for t in found if isinstance(t, str) and t]
            if parts:
                return "\n\n".join(parts)
    return ""


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _step(m: Mapper, value: Mapping[str, Any], result: dict[str, Any], ext: dict[str, Any]) -> None:
    if (choice := _number(value.get("choice"))) is not None:
        result["response"] = str(choice)
    if isinstance(value.get("to"), str):
        ext[m.extension("next-node")] = value["to"]


def _choice(m: Mapper, value: Mapping[str, Any], result: dict[str, Any], _: dict[str, Any]) -> None:
    if (option := _number(value.get("option"))) is not None:
        result["response"] = str(option)
    if isinstance(value.get("best"), bool):
        result["success"] = value["best"]
        result["score"] = {"scaled": 1.0 if value["best"] else 0.0}
    result["completion"] = True


def _selfcheck(
    m: Mapper, value: Mapping[str, Any], result: dict[str, Any], _: dict[str, Any]
) -> None:
    if (choice := _number(value.get("choice"))) is not None:
        result["response"] = str(choice)
    if isinstance(value.get("correct"), bool):
        result["success"] = value["correct"]
        result["score"] = {"scaled": 1.0 if value["correct"] else 0.0, "raw": int(value["correct"]),
                           "min": 0, "max": 1}  # fmt: skip


def _cues(m: Mapper, value: Mapping[str, Any], result: dict[str, Any], _: dict[str, Any]) -> None:
    lines = value.get("lines")
    if isinstance(lines, list):
        result["response"] = "[,]".join(str(n) for n in lines if _number(n) is not None)


def _codes(m: Mapper, value: Mapping[str, Any], result: dict[str, Any], _: dict[str, Any]) -> None:
    codes = value.get("codes")
    if isinstance(codes, list):
        result["response"] = "[,]".join(str(c) for c in codes)


def _coding(m: Mapper, value: Mapping[str, Any], _: dict[str, Any], ext: dict[str, Any]) -> None:
    """The reply coder's codes (names only: the evidence quotes the learner's words)."""
    coding = value.get("coding", value)
    if isinstance(coding, Mapping):
        for name in ("codes", "unsure"):
            found = coding.get(name)
            if isinstance(found, list):
                ext[m.extension(f"coder-{name}")] = [
                    c["code"] for c in found if isinstance(c, Mapping) and isinstance(c.get("code"), str)
                ]  # fmt: skip
        if isinstance(coding.get("provides_space"), bool):
            ext[m.extension("provides-space")] = coding["provides_space"]


def _likert(
    m: Mapper, value: Mapping[str, Any], result: dict[str, Any], ext: dict[str, Any]
) -> None:
    answers = value.get("answers")
    if isinstance(answers, Mapping):
        ext[m.extension("answers")] = {
            str(k): v for k, v in answers.items() if v is None or isinstance(v, int | str)
        }
    for name in ("instrument", "wave"):
        if isinstance(value.get(name), str):
            ext[m.extension(name)] = value[name]


def _certificate(
    m: Mapper, value: Mapping[str, Any], result: dict[str, Any], _: dict[str, Any]
) -> None:
    result["completion"] = True


def _seminar(
    m: Mapper, value: Mapping[str, Any], result: dict[str, Any], ext: dict[str, Any]
) -> None:
    if (choice := _number(value.get("choice"))) is not None:
        result["response"] = str(choice)
    if isinstance(value.get("question"), str):
        ext[m.extension("question")] = value["question"]


RESULTS: dict[str, Callable[[Mapper, Mapping[str, Any], dict[str, Any], dict[str, Any]], None]] = {
    "step": _step,
    "choice": _choice,
    "selfcheck": _selfcheck,
    "cues": _cues,
    "codes": _codes,
    "coding": _coding,
    "likert": _likert,
    "certificate": _certificate,
    "seminar": _seminar,
}
