"""Group membership from JupyterHub's REST API (the hub owns who is in which cohort).

Answers are cached for ``ttl`` seconds so a busy service asks the hub once per group per
minute, not once per request; a membership change on the hub takes effect within that time.
"""

from __future__ import annotations

import json
import time
import urllib.parse

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

__all__ = ["HubGroups"]


class HubGroups:
    """Members of hub groups, read with the service's own token."""

    def __init__(self, api_url: str, token: str, *, ttl: float = 60.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group: str) -> frozenset[str]:
        """The user names in ``group`` (empty if the group does not exist)."""
        now = time.monotonic()
        cached = self._cache.get(group)
        if cached is not None and cached[0] > now:
            return cached[1]
        url = f"{self.api_url}/groups/{urllib.parse.quote(group, safe='')}"
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
        return users
