"""Group membership from JupyterHub's REST API (the hub owns who is in which cohort).

Answers are cached for ``ttl`` seconds so a busy service asks the hub once per group per
minute, not once per request; a membership change on the hub takes effect within that time.
The cache keeps at most ``max_groups`` groups (least recently used dropped first), and a name
the hub could never hold is refused before the hub is asked, so made-up group names cost
neither memory nor hub requests.
"""

from __future__ import annotations

import json
import time
import unicodedata
import urllib.parse
from collections import OrderedDict

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

__all__ = ["MAX_GROUP_NAME", "HubGroups", "check_group_name"]

MAX_GROUP_NAME = 255
"""JupyterHub stores a group's name in a ``VARCHAR(255)`` column."""


def check_group_name(name: str) -> str | None:
    """Why ``name`` cannot be a JupyterHub group's name, or ``None`` if it can be.

    As the hub stores them: 1 to 255 characters of valid Unicode, no ``/`` (it would split the
    hub's API path), no control or other invisible format characters.
    """
    if not 0 < len(name) <= MAX_GROUP_NAME:
        return f"a group name has 1 to {MAX_GROUP_NAME} characters"
    if "/" in name:
        return "a group name has no '/'"
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs", "Cn"):
            return f"a group name has no control characters or invalid Unicode ({ord(char):#x})"
    return None


class HubGroups:
    """Members of hub groups, read with the service's own token."""

    def __init__(
        self, api_url: str, token: str, *, ttl: float = 60.0, max_groups: int = 1000
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.ttl = ttl
        self.max_groups = max_groups
        self._cache: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self.hub_requests = 0
        """How many times the hub was asked (for the health of a busy service)."""

    def __len__(self) -> int:
        return len(self._cache)

    async def members(self, group: str) -> frozenset[str]:
        """The user names in ``group`` (empty if the group does not exist)."""
        problem = check_group_name(group)
        if problem:
            raise ValueError(problem)
        now = time.monotonic()
        cached = self._cache.get(group)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(group)
            return cached[1]
        url = f"{self.api_url}/groups/{urllib.parse.quote(group, safe='')}"
        self.hub_requests += 1
        try:
            response = await AsyncHTTPClient().fetch(
                url, headers={"Authorization": f"token {self._token}"}, request_timeout=10
            )
        except HTTPClientError as e:
            if e.code != 404:
                raise
            users: frozenset[str] = frozenset()
        else:
            users = frozenset(json.loads(response.body).get("users", []))
        self._cache[group] = (now + self.ttl, users)
        self._cache.move_to_end(group)
        while len(self._cache) > self.max_groups:
            self._cache.popitem(last=False)
        return users
