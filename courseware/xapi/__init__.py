"""Learning records for the institution's LRS: stored events as xAPI 1.0.3 statements.

``Mapper`` makes one statement per event (pseudonymous actor, deterministic id); ``export_statements``
writes a store's statements to a file (``courseware xapi export``); ``Forwarder`` runs in the hub
service and sends them to an LRS through a durable outbox. Standard library only (no JupyterHub,
no pandas): the command line and the service both load it.
"""

from ._cli import add_xapi_commands
from ._export import export_statements
from ._forwarder import Forwarder, forwarder_from_environment
from ._lrs import LRSClient, LRSRefused, LRSUnavailable
from ._outbox import StatementOutbox
from ._settings import XAPIError, XAPISettings
from ._statements import KINDS, VERBS, XAPI_VERSION, Mapper

__all__ = [
    "KINDS",
    "VERBS",
    "XAPI_VERSION",
    "Forwarder",
    "LRSClient",
    "LRSRefused",
    "LRSUnavailable",
    "Mapper",
    "StatementOutbox",
    "XAPIError",
    "XAPISettings",
    "add_xapi_commands",
    "export_statements",
    "forwarder_from_environment",
]
