"""Copy and paste as text: a small document in the file format (the nodes, the wires between them, and the
blocks they use), so a selection travels between documents, or through any text editor. The text is data: it is
read by the file reader, never executed.
"""

from __future__ import annotations

import json
from typing import Any

from graph.document import FORMAT, Reader
from graph.fileformat import GraphFileError, _block_document, dumps, loads
from graph.model import Graph, GraphError
from graph.resolve import name_prefix
from graph.snapshot import _build_edges, _build_nodes, reconnect

MAX_TEXT = 8 * 1024 * 1024


def copy_text(graph: Graph, names: list[str]) -> str:
    """The selected nodes, the edges between them and the document's blocks they use (directly or inside)."""
    chosen = set(names)
    for name in names:
        graph.node(name)
    clip = Graph("clipboard")
    for name, block in graph.blocks.items():
        if name in _used_blocks(graph, chosen):
            clip.blocks[name] = block
    for node in graph.nodes:
        if node.name in chosen:
            clip.add(node.type, node.name, repeat=node.repeat, label=node.label, position=node.position)
            clip.node(node.name).params.update(json.loads(json.dumps(node.params)))
    inner = [e for e in graph.edges if e.src in chosen and e.dst in chosen]
    for order, edge in enumerate(inner):  # as they are, without re-judging ports: the copy mirrors the graph
        reconnect(clip, edge, order)
    return dumps(clip)


def _used_blocks(graph: Graph, chosen: set[str]) -> set[str]:
    wanted = [n.type for n in graph.nodes if n.name in chosen and n.type in graph.blocks]
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name not in seen:
            seen.add(name)
            wanted += [n.type for n in graph.blocks[name].nodes if n.type in graph.blocks]
    return seen


def paste_text(graph: Graph, text: str, offset: tuple[float, float] = (40, 40)) -> list[str]:
    """Add the text's nodes (fresh names where taken, positions shifted by `offset`) and edges to `graph`;
    its blocks join the document's, a block whose name is taken by a different definition is renamed."""
    pasted = _read(text)
    renames = _merge_blocks(graph, pasted)
    names: dict[str, str] = {}
    for node in pasted.nodes:
        new = node.name if node.name not in graph else graph.unique_name(name_prefix(graph, node.type))
        position = (node.position[0] + offset[0], node.position[1] + offset[1]) if node.position else None
        names[node.name] = graph.add(renames.get(node.type, node.type), new, repeat=node.repeat, label=node.label,
                                     position=position)
        graph.node(new).params.update(node.params)
    for edge in pasted.edges:
        graph.connect(names[edge.src], names[edge.dst], edge.port, src_port=edge.src_port)
    return list(names.values())


def _read(text: Any) -> Graph:
    if not isinstance(text, str) or not text.strip():
        raise GraphError("the clipboard holds no Layerbook nodes")
    if len(text) > MAX_TEXT:
        raise GraphError("the clipboard text is too large to be Layerbook nodes")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise GraphError("the clipboard text is not Layerbook nodes (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GraphError("the clipboard text is not Layerbook nodes (no \"format\": \"layerbook\")")
    try:
        pasted = loads(text, "the clipboard", strict=False)
    except GraphFileError as exc:
        raise GraphError(str(exc)) from None
    defects = pasted.__dict__.get("load_defects") or []
    header = [d for d in defects if d.startswith(("format", "version"))]
    if header:  # a newer format may mean something else by the same fields: read nothing rather than guess
        raise GraphError(f"the clipboard text cannot be pasted: {header[0]}")
    if not len(pasted):
        raise GraphError("the clipboard text holds no nodes" + (f": {defects[0]}" if defects else ""))
    return pasted


def _merge_blocks(graph: Graph, pasted: Graph) -> dict[str, str]:
    """Add the pasted blocks the document lacks; same name, other definition → a new name (types follow)."""
    docs = {name: _block_document(block) for name, block in pasted.blocks.items()}
    renames: dict[str, str] = {}
    for name, doc in docs.items():
        if name in graph.blocks and _same(graph.blocks[name], doc):
            continue
        if name in graph.blocks:
            index = 2
            while f"{name}_{index}" in graph.blocks or f"{name}_{index}" in docs:
                index += 1
            renames[name] = f"{name}_{index}"
    added = {}
    for name, doc in docs.items():
        if name in graph.blocks and name not in renames:
            continue
        for item in doc.get("nodes", []):
            item["type"] = renames.get(item["type"], item["type"])
        new = renames.get(name, name)
        block = Graph(new, blocks=graph.blocks)
        block.description = doc.get("description", "")
        block.params = Reader()._read_param_decls(doc.get("params"), "params")
        graph.blocks[new] = block
        added[new] = doc
    for new, doc in added.items():
        _build_nodes(graph.blocks[new], doc)
    for new, doc in added.items():
        _build_edges(graph.blocks[new], doc)
        graph.blocks[new].touch()
    return renames


def _same(block: Graph, doc: dict[str, Any]) -> bool:
    return json.dumps(_block_document(block), sort_keys=True) == json.dumps(doc, sort_keys=True)
