"""The graph of a pipeline: which steps it has, what flows between them, in which order.

:func:`build` takes the steps given to ``Pipeline`` and completes them as v1's
``resolve_closure`` did (the steps producing their inputs, the steps named in
``run_after``), then checks the graph before anything runs:

* every input produced in the pipeline has exactly one producing step in it;
* no two different data objects share a name;
* there is no cycle (the message names one, e.g. ``a -> b -> a``).

Each problem raises :class:`PipelineValidationError` naming the steps and data involved.

Layer: pipeline (pure: no store, no files).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..data.consumption import OutputFileDatasetConfig, OutputInput
from ..exceptions import PipelineValidationError
from .pipeline_data import PipelineData, PipelineDataInput
from .steps import PipelineStep, flatten


def data_key(value: PipelineData | OutputFileDatasetConfig) -> int:
    """One key for an output and all its copies (``register_on_complete`` & co. copy it)."""
    return id(value.producers)


def produced_data(value: Any) -> PipelineData | OutputFileDatasetConfig | None:
    """The pipeline output an input reads, if it reads one."""
    if isinstance(value, PipelineDataInput):
        return value.data
    if isinstance(value, OutputInput):
        return value.output
    return None


@dataclass
class Graph:
    """A checked pipeline graph.

    Attributes:
        steps: the steps, in an order where every step comes after what it depends on.
        ids: each step's node id (``step_0``, ``step_1``… in that order).
        upstream: node id → ids of the steps it must run after.
        producers: data key → node id of the step producing it.
        names: data key → the data's name.
    """

    steps: list[PipelineStep]
    ids: dict[int, str] = field(default_factory=dict)
    upstream: dict[str, list[str]] = field(default_factory=dict)
    producers: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def node_id(self, step: PipelineStep) -> str:
        """The node id of ``step``."""
        return self.ids[id(step)]


def closure(steps: Iterable[Any], resolve_closure: bool = True) -> list[PipelineStep]:
    """The given steps plus, with ``resolve_closure``, every step they depend on."""
    given = flatten(steps)
    if not given:
        raise PipelineValidationError("A pipeline needs at least one step.")
    result: list[PipelineStep] = []
    seen: set[int] = set()
    queue = list(given)
    while queue:
        step = queue.pop(0)
        if id(step) in seen:
            continue
        seen.add(id(step))
        result.append(step)
        if not resolve_closure:
            continue
        queue.extend(s for s in step.after if id(s) not in seen)
        for value in step.consumed():
            data = produced_data(value)
            if (
                data is not None
                and data.producers
                and not any(id(p) in seen for p in data.producers)
            ):
                queue.append(data.producers[-1])  # the most recently made producer
    return result


def build(steps: Iterable[Any], resolve_closure: bool = True) -> Graph:
    """The checked graph of ``steps`` (see the module docstring).

    Raises:
        PipelineValidationError: a cycle, an input nobody produces, an output produced
            twice, two data objects with one name.
    """
    included = closure(steps, resolve_closure)
    in_pipeline = {id(s) for s in included}
    graph = Graph(steps=[])
    temporary = {id(s): f"step_{i}" for i, s in enumerate(included)}
    names_seen: dict[str, int] = {}
    for step in included:
        for output in step.produced():
            key = data_key(output)
            previous = graph.producers.get(key)
            if previous is not None and previous != temporary[id(step)]:
                first = next(s for s in included if temporary[id(s)] == previous)
                raise PipelineValidationError(
                    f"Output {output.name!r} is produced by two steps, {first.name!r} and "
                    f"{step.name!r}; give each step its own output."
                )
            graph.producers[key] = temporary[id(step)]
            _claim_name(names_seen, output.name, key)
            graph.names[key] = output.name
    dependencies: dict[str, list[str]] = {temporary[id(s)]: [] for s in included}
    for step in included:
        node = temporary[id(step)]
        for before in step.after:
            if id(before) not in in_pipeline:
                raise PipelineValidationError(
                    f"Step {step.name!r} runs after {before.name!r}, which is not in the "
                    "pipeline (add it, or use resolve_closure=True)."
                )
            _add(dependencies[node], temporary[id(before)])
        for value in step.consumed():
            data = produced_data(value)
            if data is None:
                continue
            key = data_key(data)
            producer = graph.producers.get(key)
            if producer is None:
                raise PipelineValidationError(
                    f"Step {step.name!r} reads {data.name!r}, which no step of the pipeline "
                    "produces: list it in the outputs= of the step that writes it."
                )
            if producer == node:
                raise PipelineValidationError(
                    f"Step {step.name!r} reads its own output {data.name!r}."
                )
            _claim_name(names_seen, data.name, key)
            _add(dependencies[node], producer)
    order = _topological(dependencies, {temporary[id(s)]: s.name for s in included})
    by_node = {temporary[id(s)]: s for s in included}
    renumber = {old: f"step_{i}" for i, old in enumerate(order)}
    graph.steps = [by_node[old] for old in order]
    graph.ids = {id(by_node[old]): renumber[old] for old in order}
    graph.upstream = {renumber[old]: [renumber[d] for d in dependencies[old]] for old in order}
    graph.producers = {key: renumber[old] for key, old in graph.producers.items()}
    return graph


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _claim_name(seen: dict[str, int], name: str, key: int) -> None:
    if seen.setdefault(name, key) != key:
        raise PipelineValidationError(
            f"Two different data objects are named {name!r} in the pipeline; give each its own name."
        )


def _topological(dependencies: dict[str, list[str]], names: dict[str, str]) -> list[str]:
    """Node ids in dependency order (Kahn, stable by the given order); a cycle is an error."""
    remaining = {node: set(deps) for node, deps in dependencies.items()}
    order: list[str] = []
    while remaining:
        ready = [node for node, deps in remaining.items() if not deps]
        if not ready:
            cycle = _a_cycle(remaining)
            raise PipelineValidationError(
                "The pipeline's steps form a cycle: "
                + " -> ".join(repr(names[n]) for n in cycle)
                + "; a step cannot depend on its own results."
            )
        for node in ready:
            order.append(node)
            del remaining[node]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def _a_cycle(remaining: dict[str, set[str]]) -> list[str]:
    """One cycle among nodes that all still wait for something (each dependency → its user)."""
    start = next(iter(remaining))
    path = [start]
    seen = {start: 0}
    node = start
    while True:
        node = sorted(remaining[node])[0]
        if node in seen:
            cycle = [*path[seen[node] :], node]
            return list(reversed(cycle))
        seen[node] = len(path)
        path.append(node)
