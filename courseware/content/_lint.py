"""The author's lint of a vignette: the graph, then every state a learner can reach.

``courseware check`` (and the authoring tools) run it; loading a vignette for a learner does not.
The state-space lint explores every state a learner can reach (node, counter values, nodes
visited). When counters without bounds go round a loop the state space is endless: then the lint
falls back to interval reasoning (:mod:`._intervals`), which can still prove that a condition
never holds or an ending is never reached, but cannot find every trap (give counters
``min``/``max`` to get the full check).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from pathlib import Path

from ._conditions import describe_all
from ._engine import (
    MakeProblem,
    Rules,
    State,
    conditions_of,
    expert_path,
    graph_reachable,
    link_problems,
    reachable,
)
from ._errors import ContentError, Problem
from ._intervals import _lint_intervals, _never
from ._models import Node, VignetteSpec
from ._schema import load_validated
from ._techniques import TECHNIQUES, takes_opportunity
from ._vignette import Vignette, media_path, problem_at
from ._yaml import YamlDocument

STATE_CAP = 100_000
"""How many distinct states the lint explores before it falls back to interval reasoning."""


def lint_names(spec: VignetteSpec, problem: MakeProblem) -> list[Problem]:
    """Contradictory technique tags, a second expert choice, an opportunity no choice takes up."""
    problems: list[Problem] = []
    for node_id, node in spec.nodes.items():
        where: list[str | int] = ["nodes", node_id]
        experts = [i for i, c in enumerate(node.choices) if c.expert]
        for extra in experts[1:]:
            problems.append(
                problem(
                    [*where, "choices", extra, "expert"],
                    f"node {node_id!r} already has an expert choice (choice {experts[0] + 1})",
                )
            )
        if (
            node.opportunity
            and node.choices
            and not any(takes_opportunity(c.techniques) for c in node.choices)
        ):
            problems.append(
                problem(
                    [*where, "opportunity"],
                    "this node offers an empathic opportunity but no choice takes it up "
                    "(tag one with an empathic technique such as 'naming' or 'exploring')",
                )
            )
        for ci, choice in enumerate(node.choices):
            here: list[str | int] = [*where, "choices", ci]
            tags = [TECHNIQUES[t] for t in choice.techniques]
            if any(t.empathic for t in tags) and any(t.blocking for t in tags):
                problems.append(
                    problem(
                        [*here, "techniques"],
                        "a reply cannot both take up a cue and shut it down "
                        f"({', '.join(t.tag for t in tags if t.empathic or t.blocking)})",
                    )
                )
    return problems


def explore(rules: Rules, cap: int = STATE_CAP) -> dict[State, list[tuple[int, State]]] | None:
    """Every reachable state and its moves, or ``None`` if there are more than ``cap``."""
    start = rules.initial()
    edges: dict[State, list[tuple[int, State]]] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        state = queue.popleft()
        moves = [(i, rules.after(state, i)) for i, _ in rules.offered(state)]
        edges[state] = moves
        for _, nxt in moves:
            if nxt not in seen:
                if len(seen) >= cap:
                    return None
                seen.add(nxt)
                queue.append(nxt)
    return edges


def _ranges(rules: Rules, states: Sequence[State]) -> str:
    parts = []
    for i, name in enumerate(rules.names):
        values = [s.counters[i] for s in states]
        low, high = min(values), max(values)
        parts.append(f"{name} = {low}" if low == high else f"{name} between {low} and {high}")
    return ", ".join(parts)


def lint_states(spec: VignetteSpec, problem: MakeProblem, *, cap: int = STATE_CAP) -> list[Problem]:
    """Conditions that never hold, nodes and endings unreachable under any counter values,
    states where nothing is offered, cycles with no way out, and a broken expert path."""
    tracked = {c.node for _, conds in conditions_of(spec) for c in conds if c.kind != "counter"}
    rules = Rules(spec, track=tracked)
    edges = explore(rules, cap)
    if edges is None:
        return _lint_intervals(spec, rules, problem)
    problems: list[Problem] = []
    at_node: dict[str, list[State]] = defaultdict(list)
    for state in edges:
        at_node[state.node].append(state)
    for node_id in sorted(graph_reachable(spec, spec.start) - set(at_node)):
        node = spec.nodes[node_id]
        message = (
            f"ending {node_id!r} cannot be reached under any counter values"
            if node.end
            else f"node {node_id!r} cannot be reached: the conditions on every way in never hold"
        )
        problems.append(problem(["nodes", node_id], message))
    for node_id, states in at_node.items():
        node = spec.nodes[node_id]
        where = _ranges(rules, states)
        base: list[str | int] = ["nodes", node_id]
        for vi, variant in enumerate(node.variants):
            if not any(rules.holds(variant.when, s) for s in states):
                problems.append(
                    problem([*base, "variants", vi, "when"], _never(variant.when, node_id, where))
                )
        if node.end:
            continue
        for ci, choice in enumerate(node.choices):
            here: list[str | int] = [*base, "choices", ci]
            offered = [s for s in states if rules.holds(choice.when, s)]
            if not offered:
                problems.append(problem([*here, "when"], _never(choice.when, node_id, where)))
                continue
            moved = [State(s.node, rules._effects(s, choice), s.visited) for s in offered]
            for ri, route in enumerate(choice.routes):
                if not any(rules.holds(route.when, m) for m in moved):
                    after = _ranges(rules, moved)
                    problems.append(
                        problem(
                            [*here, "routes", ri, "when"],
                            f"condition {describe_all(route.when)} can never hold here"
                            f" (after this choice{', ' + after if after else ''})",
                        )
                    )
        stuck = [s for s in states if not edges[s]]
        if stuck:
            values = rules.describe(stuck[0])
            problems.append(
                problem(
                    base,
                    f"the learner can get stuck at node {node_id!r}"
                    f"{' with ' + values if values else ''}: every choice's condition fails",
                )
            )
    problems.extend(_traps(spec, rules, edges, problem))
    problems.extend(_expert_path(spec, Rules(spec), problem))
    return problems


def _traps(
    spec: VignetteSpec,
    rules: Rules,
    edges: dict[State, list[tuple[int, State]]],
    problem: MakeProblem,
) -> list[Problem]:
    """States that can still move but never reach an ending: a cycle with no way out."""
    back: dict[State, list[State]] = defaultdict(list)
    for state, moves in edges.items():
        for _, nxt in moves:
            back[nxt].append(state)
    can_end = reachable((s for s in edges if spec.nodes[s.node].end), back.__getitem__)
    trapped = {s for s in edges if s not in can_end and edges[s]}
    entries: dict[str, State] = {}
    for state in sorted(trapped, key=lambda s: (s.node, s.counters)):
        entered = state == rules.initial() or any(p not in trapped for p in back[state])
        if entered and state.node not in entries:
            entries[state.node] = state
    problems = []
    for node_id, state in entries.items():
        loop = sorted({s.node for s in reachable([state], lambda s: (n for _, n in edges[s]))})
        values = rules.describe(state)
        problems.append(
            problem(
                ["nodes", node_id],
                f"cycle with no way out: from node {node_id!r}"
                f"{' with ' + values if values else ''} the learner can only go round "
                f"{', '.join(repr(n) for n in loop)} and never reach an ending",
            )
        )
    return problems


def _expert_path(spec: VignetteSpec, rules: Rules, problem: MakeProblem) -> list[Problem]:
    if not any(c.expert for n in spec.nodes.values() for c in n.choices):
        return []
    path = expert_path(rules)
    if path.stuck_at is None:
        return []
    return [
        problem(
            ["nodes", path.stuck_at],
            f"the expert path {path.reason} at node {path.stuck_at!r} "
            "(mark one offered choice per node on the way 'expert: true')",
        )
    ]


def _media_problems(node_id: str, node: Node, source: Path, problem: MakeProblem) -> list[Problem]:
    from ._models import MAX_MEDIA_BYTES, MEDIA_TYPES

    found = []
    for kind, media in (("image", node.image), ("audio", node.audio)):
        if media is None:
            continue
        loc: list[str | int] = ["nodes", node_id, kind, "file"]
        suffix = Path(media.file).suffix.lower()
        wanted = "image/" if kind == "image" else "audio/"
        path = media_path(source, media.file)
        if path is None:
            found.append(problem(loc, f"{media.file!r} is outside the module folder"))
        elif not MEDIA_TYPES.get(suffix, "").startswith(wanted):
            allowed = ", ".join(s for s, t in MEDIA_TYPES.items() if t.startswith(wanted))
            found.append(problem(loc, f"{media.file!r}: use a file ending in {allowed}"))
        elif not path.is_file():
            found.append(
                problem(loc, f"file not found: {media.file!r} (paths are from the module folder)")
            )
        elif path.stat().st_size > MAX_MEDIA_BYTES:
            found.append(
                problem(loc, f"{media.file!r} is larger than {MAX_MEDIA_BYTES // 1_000_000} MB")
            )
    return found


def lint_vignette(spec: VignetteSpec, doc: YamlDocument | None = None) -> list[Problem]:
    """Graph problems: bad start, unknown targets, dead ends, orphans, nodes with no way to an end;
    then, if the graph is sound, the engine's checks (counters, conditions, traps, expert path)."""

    problem = problem_at(spec, doc)
    problems: list[Problem] = []
    if doc is not None:
        problems += doc.id_problems(spec.id)
    for node_id, node in spec.nodes.items():
        if node.end and node.choices:
            problems.append(
                problem(["nodes", node_id, "end"], "an ending cannot also have choices")
            )
        if not node.end and not node.choices:
            problems.append(
                problem(["nodes", node_id], f"node {node_id!r} has no choices and is not an ending")
            )
        if node.compose_first and (node.end or len(node.choices) < 2):
            problems.append(
                problem(
                    ["nodes", node_id, "compose_first"],
                    "compose_first (write first) needs a node with at least two choices",
                )
            )
        if node.compose_first and spec.perspective is not None:
            problems.append(
                problem(
                    ["nodes", node_id, "compose_first"],
                    "compose_first is for cases where the learner plays the clinician, not "
                    f"perspective mode (the learner is {spec.perspective.character})",
                )
            )
        if doc is not None:
            problems.extend(_media_problems(node_id, node, doc.path, problem))
    problems.extend(link_problems(spec, problem))
    problems.extend(lint_names(spec, problem))
    if spec.start not in spec.nodes:
        return problems
    reachable = graph_reachable(spec, spec.start)
    for node_id in spec.nodes:
        if node_id not in reachable:
            problems.append(
                problem(["nodes", node_id], f"node {node_id!r} cannot be reached from the start")
            )
    endings = {n for n, node in spec.nodes.items() if node.end}
    for node_id in sorted(reachable - endings):
        if not graph_reachable(spec, node_id) & endings and spec.nodes[node_id].choices:
            problems.append(
                problem(["nodes", node_id], f"no ending can be reached from node {node_id!r}")
            )
    if not problems:
        problems.extend(lint_states(spec, problem))
    return problems


def check_vignette(path: str | Path) -> Vignette:
    """Load a vignette as an author does: validated, then linted; raise :class:`ContentError`
    listing every problem. (:func:`~courseware.content.load_vignette`, a learner's load, skips
    the lint.)"""
    doc, spec = load_validated(Path(path), VignetteSpec)
    problems = lint_vignette(spec, doc)
    if problems:
        raise ContentError(problems)
    return Vignette(spec, doc)
