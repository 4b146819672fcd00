"""The `.layerbook.json` file format: versioned, human-readable JSON in a stable order, saved atomically.

`dumps` writes the canonical text (load → save → load gives a byte-identical file); `load_graph` reads a path or
a template name and raises GraphFileError listing every defect of a bad file, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from graph.document import FORMAT, VERSION, Reader
from graph.inference import expansion_problem
from graph.library import SUFFIX, template_names, template_path
from graph.model import Graph
from graph.outputs import replacing
from graph.registry import layer_spec
from graph.resolve import default_input_port, default_output_port, find_block

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DIGITS = 100
MAX_DEPTH = 32  # a graph document nests about 8 levels deep
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAYBE_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")


class GraphFileError(Exception):
    """A file that cannot be read as a graph; `defects` lists each problem with its path in the document."""

    def __init__(self, source: str, defects: list[str]) -> None:
        self.source = source
        self.defects = defects
        shown = "\n".join(f"  {d}" for d in defects[:50])
        more = f"\n  ... and {len(defects) - 50} more" if len(defects) > 50 else ""
        super().__init__(f"cannot load {source}:\n{shown}{more}")


# --- reading -------------------------------------------------------------------------------------------------

def load_graph(source: str | os.PathLike[str], *, strict: bool = True, library: bool = True) -> Graph:
    """Load a graph file, or a template by name (`load_graph("lenet")`).

    With strict=False a document whose values are wrong still loads (as far as it can) so the editor can show
    the problems on the boxes; malformed JSON always raises.
    """
    path = _locate(source)
    return loads(_read(path), str(path), strict=strict, library=library)


def _read(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES, read no further: a device such as /dev/zero, or a
    pipe, would never end (or never begin)."""
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):
            raise GraphFileError(str(path), ["cannot read the file: it is a folder, not a graph file"])
        if not stat.S_ISREG(status.st_mode):
            raise GraphFileError(str(path), ["cannot read the file: it is not a regular file (a device or a pipe), "
                                             "not a graph file"])
        if status.st_size <= MAX_FILE_BYTES:
            with path.open("rb") as stream:
                raw = stream.read(MAX_FILE_BYTES + 1)  # one more: a file that grew since
    except OSError as exc:
        raise GraphFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    size = status.st_size if status.st_size > MAX_FILE_BYTES else len(raw)
    if size > MAX_FILE_BYTES:
        raise GraphFileError(str(path), [f"the file is {size:,} bytes; graph files are at most {MAX_FILE_BYTES:,}"])
    return raw


def _locate(source: str | os.PathLike[str]) -> Path:
    path, text = Path(source), str(source)
    if not text:  # Path("") is the working directory
        raise GraphFileError("''", [f"no graph given: name a graph file or a template ({_templates()})"])
    try:
        if path.exists():
            return path
    except OSError as exc:  # a name too long for the file system
        raise GraphFileError(text, [f"cannot read the file: {exc.strerror or exc}"]) from None
    template = template_path(text) if os.sep not in text and not text.endswith(".json") else None
    if template is not None:
        return template
    raise GraphFileError(text, [f"no such file, and no template of that name ({_templates()})"])


def _templates() -> str:
    return f"templates: {', '.join(template_names()) or 'none'}"


def loads(raw: str | bytes, source: str = "<text>", *, strict: bool = True, library: bool = True) -> Graph:
    doc = parse_json(raw, source)
    reader = Reader(library=library)
    graph = reader.read(doc)
    if reader.defects and strict:
        raise GraphFileError(source, reader.defects)
    too_large = expansion_problem(graph)
    if too_large is not None:
        raise GraphFileError(source, [too_large.message])
    graph.__dict__["load_defects"] = list(reader.defects)
    return graph


def parse_json(raw: str | bytes, source: str) -> Any:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise GraphFileError(source, [f"the file is not UTF-8 text (byte {exc.start})"]) from None
    if not raw.strip():
        raise GraphFileError(source, ["the file is empty"])
    try:
        doc = json.loads(raw, parse_constant=_refuse_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        # json reports a string cut by the end of the file where the string starts
        cut = exc.pos >= len(raw.rstrip()) or exc.msg.startswith("Unterminated string")
        ending = " (the file looks truncated)" if cut else ""
        raise GraphFileError(source, [f"not valid JSON at {where}: {exc.msg}{ending}"]) from None
    except ValueError as exc:  # an integer of hundreds of digits, or NaN/Infinity
        raise GraphFileError(source, [f"not a usable JSON document: {exc}"]) from None
    except RecursionError:
        raise GraphFileError(source, ["the document is nested too deeply"]) from None
    if _depth(doc) > MAX_DEPTH:  # what reads, shows and copies a document may then recurse without fear
        raise GraphFileError(source, [f"the document is nested too deeply (more than {MAX_DEPTH} levels)"])
    # json accepts an escaped half of a UTF-16 pair (or one in a str), which no UTF-8 file can then be saved with;
    # only a text that may hold one is worth the walk
    unpaired = _unpaired_surrogate(doc) if _MAYBE_SURROGATE.search(raw) else None
    if unpaired is not None:
        raise GraphFileError(source, [f"not a usable JSON document: a text holds an unpaired surrogate "
                                      f"(\\u{ord(unpaired):04x}), which is not a character"])
    return doc


def _depth(doc: Any) -> int:
    """How deeply lists and objects nest in a parsed document, found without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _unpaired_surrogate(doc: Any) -> str | None:
    """The first lone surrogate in any text or key of a parsed document, found without recursion."""
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and (found := _SURROGATE.search(value)):
            return found.group()
    return None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a graph can use")


def _parse_int(text: str) -> int:
    # No size anyone builds has more than a few digits; refusing long ones early also keeps Python's own
    # limit on converting long digit strings (and its advice about sys) out of the message.
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-')):,} digits ({text[:12]}…) is far too large")
    return int(text)


# --- writing -------------------------------------------------------------------------------------------------

def to_document(graph: Graph) -> dict[str, Any]:
    """The graph as a JSON-ready dict, keys in a fixed order, defaults left out."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": graph.name}
    for key in ("title", "source", "description"):
        if getattr(graph, key):
            doc[key] = getattr(graph, key)
    if graph.params:
        doc["params"] = {name: spec.to_json() for name, spec in graph.params.items()}
    if graph.param_values:
        doc["values"] = {k: _plain(v) for k, v in graph.param_values.items()}
    if graph.blocks:
        doc["blocks"] = {name: _block_document(block) for name, block in graph.blocks.items()}
    doc.update(_body(graph))
    if graph.brackets:
        doc["brackets"] = [{"label": b.label, "nodes": list(b.nodes)} for b in graph.brackets]
    if graph.training:
        doc["training"] = graph.training
    return doc


def _block_document(block: Graph) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if block.description:
        doc["description"] = block.description
    if block.params:
        doc["params"] = {name: spec.to_json() for name, spec in block.params.items()}
    doc.update(_body(block))
    return doc


def _body(graph: Graph) -> dict[str, Any]:
    nodes = []
    for node in graph:
        item: dict[str, Any] = {"name": node.name, "type": node.type}
        if node.label is not None:
            item["label"] = node.label
        if node.repeat != 1:
            item["repeat"] = node.repeat
        if node.params:
            item["params"] = {k: _plain(node.params[k]) for k in _param_order(graph, node.type, node.params)}
        if node.position is not None:
            item["position"] = [_number(v) for v in node.position]
        nodes.append(item)
    edges = []
    for edge in graph.edges:
        item = {"from": edge.src, "to": edge.dst}
        if edge.port != default_input_port(graph, graph.node(edge.dst).type):
            item["port"] = edge.port
        if edge.src_port != default_output_port(graph, graph.node(edge.src).type):
            item["from_port"] = edge.src_port
        edges.append(item)
    return {"nodes": nodes, "edges": edges}


def _param_order(graph: Graph, type_name: str, params: dict[str, Any]) -> list[str]:
    """Parameters in the order the spec declares them, so files diff cleanly whatever order they were set in."""
    spec = layer_spec(type_name)
    block = None if spec is not None else find_block(graph, type_name)
    declared: list[str] = [p.name for p in spec.params] if spec else list(block.params) if block else []
    return [k for k in declared if k in params] + [k for k in params if k not in declared]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def dumps(graph: Graph) -> str:
    return _format(to_document(graph), 0) + "\n"


def _format(value: Any, depth: int) -> str:
    """JSON with two-space indents; a short object or list stays on one line (one node, one edge per line)."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        flat = "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_format(v, 0)}" for k, v in value.items()) + "}"
        if len(flat) + len(pad) <= 120 and "\n" not in flat:
            return flat
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_format(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
        return "[\n" + ",\n".join(inner + _format(v, depth + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def save_graph(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Write atomically: a temporary file in the same folder, flushed to disk, then renamed over the target,
    so an interrupted save leaves the previous file intact."""
    target = Path(path)
    if not target.name.endswith(".json"):
        target = target.with_name(target.name + SUFFIX)
    atomic_write(target, dumps(graph).encode("utf-8"))
    return target


def atomic_write(target: Path, data: bytes, *, make_folder: bool = True) -> None:
    """Write to a temporary file beside `target`, then rename it over: an interrupted or refused write leaves
    what was there. `make_folder=False` when a missing folder is the user's mistake to report, not to create."""
    if make_folder:
        target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as temporary, temporary.open("wb") as stream:  # the user's permissions, not 0600
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())

