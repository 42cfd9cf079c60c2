"""Authoring warnings: content that loads, but shows a learner something the author did not mean.

``courseware check`` reports these beside the teaching warnings (``FILE:LINE: warning: ...``);
``--strict`` fails on them.

* A node or ending without a ``title``: a learner would see its id in words ("Close connected")
  in the scene heading, "You reached: ..." and the debrief's "Where" column, and a seminar's
  "Where: ...".
"""

from __future__ import annotations

from dataclasses import replace

from ._errors import Problem
from ._module import ModuleContent
from ._yaml import read_yaml


def authoring_warnings(module: ModuleContent) -> list[Problem]:
    """Every authoring warning for one loaded module."""
    found: list[Problem] = []
    for vignette in module.vignettes.values():
        if vignette.source is None:
            continue
        doc = read_yaml(vignette.source)
        for node_id, node in vignette.spec.nodes.items():
            if node.title:
                continue
            kind = "ending" if node.end else "node"
            found.append(
                doc.problem(
                    ["nodes", node_id],
                    f"{kind} {node_id!r} has no title; learners would see "
                    f"{vignette.node_title(node_id)!r} made from its id. Add a title: the "
                    "words a learner should see for this point of the case",
                )
            )
    return [replace(p, warning=True) for p in found]
