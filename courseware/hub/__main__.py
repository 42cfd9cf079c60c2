"""``python -m courseware.hub``: the command a hub config gives for the managed service."""

from ._main import main

raise SystemExit(main())
