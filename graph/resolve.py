"""What a node's type refers to: a layer of the catalogue, a block of the file, or a block of the library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.catalog import LayerSpec
from graph.registry import layer_spec

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
