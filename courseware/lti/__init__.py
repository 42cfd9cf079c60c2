"""LTI 1.3 Advantage: the VLE's gradebook, roster and content picker, over pylti1p3.

* :func:`send_marks` (AGS) — released, final marks to the VLE course's gradebook line items;
* :func:`sync_roster` (NRPS) — the VLE course's members to the nbgrader roster and hub groups;
* :func:`make_app` — the tool's endpoints: OIDC login, launch, deep linking, JWKS.

Settings live in ``lti.json`` (:func:`load_tool_config`); what the tool learns and does is kept in
its ledger (:class:`Ledger`). This package imports Tornado and pylti1p3: never in a kernel.
"""

from ._config import LtiError, Platform, ToolConfig, generate_keys, load_tool_config
from ._hub import LTI_SERVICE, lti_service
from ._ledger import Context, Ledger, Release, Send
from ._services import (
    Member,
    Roster,
    SendReport,
    fetch_members,
    release_marks,
    send_marks,
    sync_roster,
)
from ._web import LaunchRefused, deep_link_targets, make_app, record_launch

__all__ = [
    "LTI_SERVICE",
    "Context",
    "LaunchRefused",
    "Ledger",
    "LtiError",
    "Member",
    "Platform",
    "Release",
    "Roster",
    "Send",
    "SendReport",
    "ToolConfig",
    "deep_link_targets",
    "fetch_members",
    "generate_keys",
    "load_tool_config",
    "lti_service",
    "make_app",
    "record_launch",
    "release_marks",
    "send_marks",
    "sync_roster",
]
