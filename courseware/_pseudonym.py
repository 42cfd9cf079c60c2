"""Pseudonyms: every learner id is replaced by a keyed hash as soon as it is read or sent out.

A pseudonym is a keyed hash (HMAC-SHA256) of the id. With the same key the same learner gets the
same pseudonym in every report, so an evaluation lead can follow a cohort across years; without a key
a fresh random one is used and pseudonyms cannot be linked between reports.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "COURSEWARE_PSEUDONYM_KEY"


def normalise_learner(raw: str) -> str:
    """Ids are compared without surrounding spaces and without regard to case (e-mail addresses)."""
    return raw.strip().casefold()


class Pseudonyms:
    """Maps learner ids to stable pseudonyms such as ``P3f9a2c61d0``."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._cache: dict[str, str] = {}

    @classmethod
    def from_environment(cls, key_file: str | Path | None = None) -> Pseudonyms:
        """Key from ``key_file``, else ``$COURSEWARE_PSEUDONYM_KEY``, else a random one."""
        if key_file is not None:
            return cls(Path(key_file).read_bytes().strip())
        configured = os.environ.get(KEY_ENV, "")
        return cls(configured.encode() if configured else None)

    def __call__(self, learner: str) -> str:
        found = self._cache.get(learner)
        if found is None:
            digest = hmac.new(self._key, normalise_learner(learner).encode(), hashlib.sha256)
            found = self._cache[learner] = "P" + digest.hexdigest()[:10]
        return found
