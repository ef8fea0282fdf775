"""The pipeline view's read model: the step graph laid out, its statuses, the step table.

UI-free: it takes the pipeline run's record (its compiled spec names the steps, data
nodes and edges) and the child rows the tracker keeps, and returns plain data for the
widget (``widgets.pipeline``), for the static snapshot (a PNG drawn with matplotlib) and
for tests.

**Layout.** The graph is laid out once per pipeline with **igraph**'s layered (Sugiyama)
layout (``Graph.layout_sugiyama``: longest-path layering, barycentre crossing reduction,
dummy vertices routing long edges around other nodes). It runs in the kernel, so the live
view, the saved notebook's static image and the tests share one layout, and no
JavaScript layout bundle (dagre, elkjs) has to ship without a build step. igraph is a
maintained C library with wheels for every platform; grandalf (pure Python) was the
alternative, but its last release dates from 2023.

Colours follow v1's pipeline view: completed green ``#e2f2d0``, failed red ``#fbd5d8``,
in progress purple ``#e4d6f0``, not started or canceled grey ``#e5e5e5``, data light blue.

Layer: views.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..pipeline.launch import NODE_PROPERTY, REUSED_PROPERTY
from ..store import RunRecord, RunStatus
from ..tracking.details import duration_text
from .tracker import ChildRow

STEP_W, STEP_H = 190.0, 46.0
DATA_W, DATA_H = 150.0, 30.0
X_UNIT, Y_UNIT = 210.0, 84.0
MARGIN = 16.0
COLORS = {
    "completed": "#e2f2d0",
    "failed": "#fbd5d8",
    "running": "#e4d6f0",
    "idle": "#e5e5e5",
    "data": "#dbeefc",
    "input": "#cfe3f7",
}
BORDERS = {
    "completed": "#5c9e2e",
    "failed": "#c4314b",
    "running": "#8764b8",
    "idle": "#8a8886",
    "data": "#2b88d8",
    "input": "#2b88d8",
}
ACTIVE = frozenset(RunStatus.ALL - RunStatus.TERMINAL - {RunStatus.NOT_STARTED})


def color_class(status: str) -> str:
    """Which of v1's colours a step status gets."""
    if status == RunStatus.COMPLETED:
        return "completed"
    if status == RunStatus.FAILED:
        return "failed"
    if status in ACTIVE:
        return "running"
    return "idle"


@dataclass(frozen=True)
class Layout:
    """Node positions (centres) and edge routes, in pixels."""

    positions: dict[str, tuple[float, float]]
    routes: list[list[tuple[float, float]]]
    width: float
    height: float


def structure(record: RunRecord) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The graph's nodes (steps first, then data) and edges, from the run's spec."""
    spec = dict(record.definition.get("pipeline") or {})
    graph = dict(spec.get("graph") or {})
    nodes = [
        {"id": s["id"], "kind": "step", "name": s["name"], "step_kind": s.get("kind", "")}
        for s in spec.get("steps", [])
    ]
    for data in graph.get("data", []):
        kind = "data" if data.get("producer") else "input"
        nodes.append(
            {
                "id": data["id"],
                "kind": kind,
                "name": data["name"],
                "data_kind": data.get("kind", ""),
            }
        )
    known = {n["id"] for n in nodes}
    edges = [dict(e) for e in graph.get("edges", []) if e["from"] in known and e["to"] in known]
    step_ids = [n["id"] for n in nodes if n["kind"] == "step"]
    linked = {(e["from"], e["to"]) for e in edges}
    for step in spec.get("steps", []):  # run_after order without data between: a direct edge
        for before in step.get("after", []):
            through_data = any(
                (before, d["id"]) in linked and (d["id"], step["id"]) in linked
                for d in graph.get("data", [])
            )
            if not through_data and before in step_ids:
                edges.append({"from": before, "to": step["id"], "label": ""})
    return nodes, edges


def layout(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Layout:
    """Positions from igraph's Sugiyama layout, scaled to pixels, top to bottom."""
    import igraph

    index = {n["id"]: i for i, n in enumerate(nodes)}
    graph = igraph.Graph(directed=True)
    graph.add_vertices(len(nodes))
    graph.add_edges([(index[e["from"]], index[e["to"]]) for e in edges])
    result = graph.layout_sugiyama(hgap=1, vgap=1, maxiter=100)
    coords = result.coords[: len(nodes)]
    xs = [c[0] for c in coords] or [0.0]

    def pixel(x: float, y: float) -> tuple[float, float]:
        return (MARGIN + STEP_W / 2 + (x - min(xs)) * X_UNIT, MARGIN + STEP_H / 2 + y * Y_UNIT)

    positions = {n["id"]: pixel(*coords[i]) for n, i in ((n, index[n["id"]]) for n in nodes)}
    routing = getattr(result, "edge_routing", None) or [[] for _ in edges]
    routes = []
    for edge, bends in zip(edges, routing, strict=False):
        points = [positions[edge["from"]], *(pixel(x, y) for x, y in bends), positions[edge["to"]]]
        routes.append(points)
    width = max((p[0] for p in positions.values()), default=0.0) + STEP_W / 2 + MARGIN
    height = max((p[1] for p in positions.values()), default=0.0) + STEP_H / 2 + MARGIN
    return Layout(positions, routes, width, height)


class PipelineGraphModel:
    """The graph and step table of one pipeline run, updated from its children."""

    def __init__(self, record: RunRecord) -> None:
        self.nodes, self.edges = structure(record)
        self.layout = layout(self.nodes, self.edges) if self.nodes else Layout({}, [], 0.0, 0.0)
        self.steps = [n for n in self.nodes if n["kind"] == "step"]

    def step_runs(self, children: Mapping[str, ChildRow]) -> dict[str, ChildRow]:
        """Node id → the child run of that step (the newest, if several)."""
        found: dict[str, ChildRow] = {}
        for child in children.values():
            node = child.properties.get(NODE_PROPERTY)
            if node and (node not in found or child.created_at >= found[node].created_at):
                found[node] = child
        return found

    def graph_state(self, children: Mapping[str, ChildRow], pipeline_status: str) -> dict[str, Any]:
        """Nodes with position, status, colour and run id; edges with their routes."""
        runs = self.step_runs(children)
        done = {n for n, c in runs.items() if c.status == RunStatus.COMPLETED}
        producers = {
            e["to"]: e["from"] for e in self.edges if e["from"] in {s["id"] for s in self.steps}
        }
        nodes = []
        for node in self.nodes:
            x, y = self.layout.positions[node["id"]]
            item = {"id": node["id"], "kind": node["kind"], "name": node["name"], "x": x, "y": y}
            if node["kind"] == "step":
                child = runs.get(node["id"])
                status = child.status if child is not None else RunStatus.NOT_STARTED
                reused = child is not None and REUSED_PROPERTY in child.properties
                item.update(
                    width=STEP_W,
                    height=STEP_H,
                    status=status,
                    reused=reused,
                    run_id=child.id if child is not None else "",
                    color=COLORS[color_class(status)],
                    border=BORDERS[color_class(status)],
                    label=f"{node['name']} - {'Reused' if reused else _status_text(status)}",
                )
            else:
                ready = node["kind"] == "input" or producers.get(node["id"]) in done
                item.update(
                    width=DATA_W,
                    height=DATA_H,
                    status="ready" if ready else "pending",
                    color=COLORS[node["kind"]],
                    border=BORDERS[node["kind"]],
                    label=node["name"],
                    detail=node.get("data_kind", ""),
                )
            nodes.append(item)
        edges = [
            {
                "from": e["from"],
                "to": e["to"],
                "label": e.get("label", ""),
                "points": [list(p) for p in route],
            }
            for e, route in zip(self.edges, self.layout.routes, strict=False)
        ]
        counts: dict[str, int] = {}
        for node in nodes:
            if node["kind"] == "step":
                key = "Reused" if node["reused"] else _status_text(node["status"])
                counts[key] = counts.get(key, 0) + 1
        return {
            "nodes": nodes,
            "edges": edges,
            "width": self.layout.width,
            "height": self.layout.height,
            "status": pipeline_status,
            "counts": counts,
        }

    def table_state(self, children: Mapping[str, ChildRow]) -> dict[str, Any]:
        """v1's step table: Step, Status, Reused, Created, Ended, Duration, Run Id."""
        columns = [
            {"key": "display_name", "title": "Step"},
            {"key": "status", "title": "Status"},
            {"key": "reused", "title": "Reused"},
            {"key": "created", "title": "Created", "time": True},
            {"key": "end", "title": "Ended", "time": True},
            {"key": "duration", "title": "Duration", "tooltip": "Duration in hh:mm:ss"},
            {"key": "id", "title": "Run Id"},
        ]
        rows = []
        for child in sorted(children.values(), key=lambda c: c.created_at, reverse=True):
            rows.append(
                {
                    "id": child.id,
                    "number": child.number,
                    "status": child.status,
                    "display_name": child.display_name or "",
                    "reused": "Yes" if REUSED_PROPERTY in child.properties else "",
                    "created": child.created_at,
                    "start": child.start_time if child.start_time is not None else child.created_at,
                    "end": child.end_time,
                    "values": {},
                }
            )
        return {
            "columns": columns,
            "rows": rows,
            "sort_key": "created",
            "sort_desc": True,
            "best_id": "",
            "footnote": "",
            "cancellable": True,
            "title": "Steps",
        }

    def static_rows(self, children: Mapping[str, ChildRow]) -> tuple[list[str], list[list[str]]]:
        """The step table as text, for the static snapshot."""
        headers = ["Step", "Status", "Reused", "Duration", "Run Id"]
        rows = []
        runs = self.step_runs(children)
        for step in self.steps:
            child = runs.get(step["id"])
            if child is None:
                rows.append([step["name"], "Not started", "", "", ""])
                continue
            end = child.end_time or time.time()
            rows.append(
                [
                    step["name"],
                    child.status,
                    "Yes" if REUSED_PROPERTY in child.properties else "",
                    duration_text(end - child.created_at),
                    child.id,
                ]
            )
        return headers, rows


def _status_text(status: str) -> str:
    return "Not started" if status == RunStatus.NOT_STARTED else status


def graph_png(state: Mapping[str, Any], dpi: int = 80) -> bytes | None:
    """The graph drawn as a PNG (the static snapshot's image), or ``None`` without nodes."""
    nodes = state.get("nodes", [])
    if not nodes:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    width, height = float(state["width"]), float(state["height"])
    figure = Figure(figsize=(max(width, 240) / dpi, max(height, 80) / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, max(width, 240))
    axes.set_ylim(max(height, 80), 0)
    axes.axis("off")
    boxes = {n["id"]: n for n in nodes}
    for edge in state.get("edges", []):
        points = [tuple(p) for p in edge["points"]]
        target = boxes[edge["to"]]
        end = (points[-1][0], points[-1][1] - target["height"] / 2)
        source = boxes[edge["from"]]
        start = (points[0][0], points[0][1] + source["height"] / 2)
        path = [start, *points[1:-1], end]
        xs, ys = zip(*path, strict=True)
        axes.plot(xs, ys, color="#8a8886", linewidth=1.2, zorder=1)
        axes.annotate(
            "",
            xy=end,
            xytext=path[-2],
            arrowprops={"arrowstyle": "-|>", "color": "#8a8886", "lw": 1.2},
            zorder=1,
        )
    for node in nodes:
        w, h = node["width"], node["height"]
        style = (
            "round,pad=0,rounding_size=6"
            if node["kind"] == "step"
            else "round,pad=0,rounding_size=14"
        )
        patch = FancyBboxPatch(
            (node["x"] - w / 2, node["y"] - h / 2),
            w,
            h,
            boxstyle=style,
            facecolor=node["color"],
            edgecolor=node["border"],
            linewidth=2.0 if node.get("reused") else 1.0,
            linestyle="--" if node.get("reused") or node.get("status") == "pending" else "-",
            zorder=2,
        )
        axes.add_patch(patch)
        label = node["label"] if len(node["label"]) <= 30 else node["label"][:29] + "…"
        axes.text(node["x"], node["y"], label, ha="center", va="center", fontsize=8, zorder=3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
