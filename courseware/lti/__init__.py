"""LTI 1.3 Advantage: the VLE's gradebook, roster and content picker, over pylti1p3.

* :func:`send_marks` (AGS) — released, final marks to the VLE course's gradebook line items;
* :func:`sync_roster` (NRPS) — the VLE course's members to the nbgrader roster and hub groups;
* :func:`make_app` — the tool's endpoints: OIDC login, launch, deep linking, JWKS;
* :func:`lti_service` — the tool as a JupyterHub service.

Settings live in ``lti.json`` (:func:`load_tool_config`); what the tool learns and does is kept in
its ledger (:class:`Ledger`). Names load on first use, so ``courseware --help`` stays quick; the
tool imports Tornado and pylti1p3 and is never used in a kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr as _lazy_getattr

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
    "add_lti_commands",
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

_LAZY = {
    "add_lti_commands": "._cli",
    "LtiError": "._config",
    "Platform": "._config",
    "ToolConfig": "._config",
    "generate_keys": "._config",
    "load_tool_config": "._config",
    "LTI_SERVICE": "._hub",
    "lti_service": "._hub",
    "Context": "._ledger",
    "Ledger": "._ledger",
    "Release": "._ledger",
    "Send": "._ledger",
    "Member": "._services",
    "Roster": "._services",
    "SendReport": "._services",
    "fetch_members": "._services",
    "release_marks": "._services",
    "send_marks": "._services",
    "sync_roster": "._services",
    "LaunchRefused": "._web",
    "deep_link_targets": "._web",
    "make_app": "._web",
    "record_launch": "._web",
}

if TYPE_CHECKING:
    from ._cli import add_lti_commands
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


__getattr__ = _lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
