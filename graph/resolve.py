"""What a node's type refers to: a layer of the catalogue, a block of the file, or a block of the library."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graph.capacity import MAX_NESTING
from graph.catalog import LayerSpec
from graph.expressions import ExpressionError, evaluate, names
from graph.registry import layer_spec
from graph.values import resolve_values

if TYPE_CHECKING:
    from graph.model import Graph


def find_block(graph: Graph, type_name: str) -> Graph | None:
    """The file's own blocks come first, then the shared library under resources/blocks/."""
    if type_name in graph.blocks:
        return graph.blocks[type_name]
    from graph.library import library_blocks

    return library_blocks().get(type_name)


def resolve(graph: Graph, type_name: str) -> LayerSpec | Graph | None:
    spec = layer_spec(type_name)
    return spec if spec is not None else find_block(graph, type_name)


def block_inputs(block: Graph) -> list[str]:
    """A block's input ports are its inner input nodes, in the order they were added."""
    return [n.name for n in block.nodes if n.type == "input"]


def block_outputs(block: Graph) -> list[str]:
    return [n.name for n in block.nodes if n.type == "output"]


def input_ports(graph: Graph, type_name: str) -> list[str] | None:
    target = resolve(graph, type_name)
    if isinstance(target, LayerSpec):
        return [p.name for p in target.inputs]
    return None if target is None else block_inputs(target)


def output_ports(graph: Graph, type_name: str) -> list[str] | None:
    target = resolve(graph, type_name)
    if isinstance(target, LayerSpec):
        return list(target.outputs)
    return None if target is None else block_outputs(target)


def default_input_port(graph: Graph, type_name: str) -> str:
    ports = input_ports(graph, type_name)
    return ports[0] if ports else "x"


def default_output_port(graph: Graph, type_name: str) -> str:
    ports = output_ports(graph, type_name)
    return ports[0] if ports else "y"


def name_prefix(graph: Graph, type_name: str) -> str:
    spec = layer_spec(type_name)
    if spec is not None:
        return spec.prefix or "node"
    cleaned = "".join(c for c in type_name if c.isalnum() or c == "_")
    return cleaned if cleaned[:1].isalpha() else "block"


def expanded_boxes(graph: Graph, scope: Mapping[str, Any], most: int) -> int:
    """How many layers the graph expands to, every copy of a repeat and every layer inside a block instance
    counted, computed without expanding: counts multiply through the block tree, each block counted once per
    distinct set of meta-parameter values. `most` is the largest repeat allowed: a repeat that depends on a
    shape (unknown here) counts as that, and so does one beyond it (validation refuses it);
    a block that contains itself, or lies deeper than MAX_NESTING, counts 1 (validation reports it)."""
    return _count(graph, scope, most, {}, ())


def _count(graph: Graph, scope: Mapping[str, Any], most: int, memo: dict[Any, int],
           open_blocks: tuple[int, ...]) -> int:
    total = 0
    for node in graph.nodes:
        target = resolve(graph, node.type)
        if isinstance(target, LayerSpec | None) or id(target) in open_blocks or len(open_blocks) > MAX_NESTING:
            inner = 1
        else:
            values = resolve_values(target.params, node.params, scope, node.name, node.name)[0]
            key = (id(target), tuple(sorted((k, repr(v)) for k, v in values.items())))
            if key not in memo:
                memo[key] = _count(target, values, most, memo, (*open_blocks, id(target)))
            inner = memo[key]
        total += _repeat_count(node.repeat, scope, _shape_symbols(graph), most) * inner
    return total


def _shape_symbols(graph: Graph) -> set[str]:
    """The names a block's input patterns bind to the shapes an instance receives (`["C", "H", "W"]`)."""
    patterns = [n.params.get("shape") for n in graph.nodes if n.type == "input"]
    return {e for p in patterns if isinstance(p, list) for e in p if isinstance(e, str) and e.isidentifier()}


def _repeat_count(repeat: int | str, scope: Mapping[str, Any], shape_symbols: set[str], most: int) -> int:
    """A repeat's count; one that depends on a shape counts `most`; any other that cannot be evaluated counts 1
    (inference refuses it, so it never expands)."""
    try:
        value = evaluate(repeat, scope) if isinstance(repeat, str) else repeat
    except ExpressionError:
        try:
            return most if names(repeat) & shape_symbols else 1
        except ExpressionError:
            return 1
    return min(value, most) if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1
