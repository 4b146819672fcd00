"""Text and JSON reports of a graph for the command line: `validate` and `info`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from graph.capacity import format_bytes
from graph.inference import Analysis
from graph.lint import lint
from graph.model import Graph
from graph.summary import Memory, memory_parts, summarize, training_batch, training_memory, training_optimizer
from graph.tensor import format_shape

MEMORY_FIELDS = ("parameters", "buffers", "gradients", "optimizer_state", "activations", "workspace")


def with_lint(graph: Graph, analysis: Analysis) -> Analysis:
    """The analysis with the lint warnings added, so that validate reports what the app's Problems panel shows;
    warnings never make a graph invalid (Analysis.ok counts errors only)."""
    return replace(analysis, problems=[*analysis.problems, *lint(graph, analysis)])


def validation_json(graph: Graph, analysis: Analysis) -> dict[str, Any]:
    return {"graph": graph.name, "valid": analysis.ok, "problems": [p.to_json() for p in analysis.problems]}


def validation_text(graph: Graph, analysis: Analysis) -> str:
    lines = [str(p) for p in analysis.problems]
    errors, warnings = len(analysis.errors), len(analysis.problems) - len(analysis.errors)
    if errors:
        lines.append(f"{graph.name}: {errors} error(s), {warnings} warning(s)")
    else:
        extra = f", {warnings} warning(s)" if warnings else ""
        lines.append(f"{graph.name}: valid ({len(graph)} nodes, {analysis.parameters:,} parameters{extra})")
    return "\n".join(lines)


def info_json(graph: Graph, analysis: Analysis) -> dict[str, Any]:
    nodes = []
    for node in graph:
        info = analysis.nodes.get(node.name)
        output = info.output if info else None
        nodes.append({
            "name": node.name,
            "type": node.type,
            "output_shape": list(output.shape) if output else None,
            "parameters": info.parameters if info else None,
            "repeat": info.copies if info else None,
        })
    return {
        "name": graph.name,
        "title": graph.title,
        "valid": analysis.ok,
        "parameters": analysis.parameters,
        "trainable_parameters": analysis.parameters,
        "training_memory": memory_json(graph, analysis),
        "nodes": nodes,
        "problems": [p.to_json() for p in analysis.problems],
    }


def memory_json(graph: Graph, analysis: Analysis) -> dict[str, Any]:
    """The estimate of one training step at the batch size and optimizer `train` would use, in bytes."""
    batch, optimizer, memory = _training_step(graph, analysis)
    return {"batch_size": batch, "optimizer": optimizer, "total": memory.total,
            **{name: getattr(memory, name) for name in MEMORY_FIELDS}}


def _training_step(graph: Graph, analysis: Analysis) -> tuple[int, str, Memory]:
    batch, optimizer = training_batch(graph), training_optimizer(graph)
    return batch, optimizer, training_memory(summarize(graph, analysis), batch, optimizer)


def info_text(graph: Graph, analysis: Analysis) -> str:
    rows = [("name", "type", "output", "parameters")]
    for item in info_json(graph, analysis)["nodes"]:
        shape = format_shape(tuple(item["output_shape"])) if item["output_shape"] is not None else "?"
        count = f"{item['parameters']:,}" if item["parameters"] is not None else "?"
        kind = item["type"] + (f" ×{item['repeat']}" if item["repeat"] and item["repeat"] > 1 else "")
        rows.append((item["name"], kind, shape, count))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>{widths[3]}}" for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    title = f"{graph.name}" + (f" — {graph.title}" if graph.title else "")
    lines[:0] = [title, ""]
    lines += ["", f"total parameters: {analysis.parameters:,} (trainable: {analysis.parameters:,})"]
    if analysis.ok:
        lines.append(_memory_line(graph, analysis))
    if analysis.problems:
        lines += ["", *[str(p) for p in analysis.problems]]
    return "\n".join(lines)


def _memory_line(graph: Graph, analysis: Analysis) -> str:
    batch, optimizer, memory = _training_step(graph, analysis)
    return (f"training memory: about {format_bytes(memory.total)} for one step at batch size {batch:,} with "
            f"{optimizer} ({', '.join(memory_parts(memory, optimizer))})")


def templates_json() -> list[dict[str, Any]]:
    """Every template: name, title, source, parameter count (by shape inference, without torch)."""
    from graph.fileformat import load_graph
    from graph.library import template_names

    rows = []
    for name in template_names():
        graph = load_graph(name)
        analysis = graph.analyze()
        rows.append({"name": name, "title": graph.title, "source": graph.source,
                     "parameters": analysis.parameters, "valid": analysis.ok})
    return rows


def templates_text(rows: list[dict[str, Any]]) -> str:
    header = ("name", "title", "parameters", "source")
    table = [header] + [(r["name"], r["title"], f"{r['parameters']:,}", r["source"]) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}" for a, b, c, d in table]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)
