"""The wire format between a learner's kernel and the courseware service: one event as JSON.

Shared by the client (before an event enters the outbox) and the service (before it is stored), so
both sides refuse the same events with the same message, naming the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ._base import EVENT_SCHEMA_VERSION, Event

MAX_BATCH = 200
"""Most events sent (and accepted by the service) in one request."""

MAX_FIELD = 200
"""Longest learner, module, item or kind name, in characters."""

MAX_KEY = 100
"""Longest idempotency key, in characters."""

MAX_DEPTH = 32
"""Deepest nesting of lists and objects in an event's value."""

MAX_VALUE_BYTES = 2 * 1024 * 1024
"""Largest event value, as UTF-8 JSON: room for a 1 MB reflection pasted in, plus escaping."""

MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""Largest request body the service reads (one largest event fits with room to spare)."""

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
"""PostgreSQL ``INTEGER``: the ``schema`` column."""

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
"""PostgreSQL ``BIGINT``: any integer inside a value (also the most a JavaScript reader could
round-trip is smaller, 2**53, but a value is stored as text, so the database range is the limit)."""


def _check_text(text: str, where: str, what: str = "") -> None:
    """Refuse text UTF-8 (and so PostgreSQL) cannot hold: lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{where}: {what}is not valid Unicode (a lone surrogate at character {e.start})"
        ) from None


def check_text(text: str, where: str) -> None:
    """Refuse text no event field may hold: a NUL character or a lone surrogate (PostgreSQL
    stores neither). ``where`` names the field in the message."""
    if "\0" in text:
        raise ValueError(f"{where}: contains a NUL character")
    _check_text(text, where)


def check_key(key: Any, where: str = "key") -> str | None:
    """An idempotency key: ``None`` (none given), or 1 to 100 characters of text that
    :func:`check_text` allows; raise ``ValueError`` naming ``where`` for anything else.

    A key names one event (or one poll answer): a resend with the same key is stored once.
    """
    if key is None:
        return None
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
        raise ValueError(f"{where}: must be a string of 1 to {MAX_KEY} characters")
    check_text(key, where)
    return key


def check_value(value: Any, where: str) -> str:
    """Check an event's value; return it as compact UTF-8 JSON text, or raise ``ValueError``.

    JSON types only (objects with text keys, lists, text, finite numbers, booleans, null);
    integers within PostgreSQL's BIGINT; valid Unicode everywhere, keys included; at most
    :data:`MAX_DEPTH` levels deep and :data:`MAX_VALUE_BYTES` long. Walks without recursion, so
    a hostile depth is refused rather than crashing the checker.
    """
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not BIGINT_MIN <= item <= BIGINT_MAX:
                raise ValueError(f"{path}: integer out of range (-2**63 to 2**63-1)")
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValueError(f"{path}: must be a finite number (not NaN or Infinity)")
        elif isinstance(item, Mapping | list | tuple):
            if depth >= MAX_DEPTH:
                raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise ValueError(f"{path}: object keys must be text, not {key!r}")
                    _check_text(key, path, "a key ")
                    stack.append((child, f"{path}.{key[:40]}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        else:
            raise ValueError(f"{path}: {type(item).__name__} is not a JSON value")
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    size = len(text.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise ValueError(
            f"{where}: {size:,} bytes as JSON, more than the {MAX_VALUE_BYTES:,} allowed"
        )
    return text


def event_fields(data: Any, where: str) -> dict[str, Any]:
    """Check one event as sent over the wire; return its fields or raise ``ValueError``.

    Shared by the client (before an event enters the outbox) and the service (before it is
    stored), so an event the database could never hold is refused at once, naming the field,
    rather than failing a shared transaction or blocking the outbox later. ``where`` names the
    event in messages, e.g. ``events[3]``. The fields include ``value_json``: the value as the
    compact JSON text that is stored.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: must be an object")
    fields: dict[str, Any] = {}
    for name in ("learner", "module", "item", "kind"):
        value = data.get(name)
        if not isinstance(value, str):
            raise ValueError(f"{where}.{name}: must be a string")
        if len(value) > MAX_FIELD:
            raise ValueError(f"{where}.{name}: longer than {MAX_FIELD} characters")
        check_text(value, f"{where}.{name}")
        fields[name] = value
    if not fields["learner"] or not fields["kind"]:
        raise ValueError(f"{where}.{'learner' if not fields['learner'] else 'kind'}: is empty")
    if "value" not in data:
        raise ValueError(f"{where}.value: missing")
    fields["value"] = data["value"]
    fields["value_json"] = check_value(data["value"], f"{where}.value")
    when = data.get("time")
    if (
        isinstance(when, bool)
        or not isinstance(when, int | float)
        or not math.isfinite(when)
        or not -1e11 < when < 1e11
    ):
        raise ValueError(f"{where}.time: must be a number (seconds since 1970)")
    fields["time"] = float(when)
    schema = data.get("schema", EVENT_SCHEMA_VERSION)
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise ValueError(f"{where}.schema: must be an integer")
    if not 0 <= schema <= INT_MAX:
        raise ValueError(f"{where}.schema: must be 0 to {INT_MAX}")
    fields["schema"] = schema
    fields["key"] = check_key(data.get("key"), f"{where}.key")
    return fields


def event_to_json(event: Event, key: str | None = None) -> dict[str, Any]:
    return {
        "learner": event.learner,
        "module": event.module,
        "item": event.item,
        "kind": event.kind,
        "value": event.value,
        "time": event.time,
        "schema": event.schema,
        "key": key,
    }


def event_from_json(data: Mapping[str, Any]) -> Event:
    return Event(
        data["learner"],
        data["module"],
        data["item"],
        data["kind"],
        data["value"],
        float(data["time"]),
        data.get("id"),
        int(data.get("schema", EVENT_SCHEMA_VERSION)),
    )
