"""Reading a graph document (parsed JSON) into a Graph, checking every field and naming each defect by its path
(`nodes[3].params.kernel_size: must be a positive integer (got 0)`). Nothing in a document is ever executed."""

from __future__ import annotations

import json
import math
from typing import Any

from graph.capacity import repeat_problem
from graph.catalog import CHOICE, KINDS, TEXT, ParamError, ParamSpec
from graph.expressions import ExpressionError, parse
from graph.model import NAME_PATTERN, Bracket, Graph, GraphError
from graph.names import graph_name_problem
from graph.registry import canonical_type, layer_spec, suggest
from graph.resolve import input_ports, output_ports
from graph.values import describe

FORMAT = "layerbook"
VERSION = 1
TOP_KEYS = ("format", "version", "name", "title", "source", "description", "params", "values", "nodes", "edges",
            "brackets", "blocks", "training")
BLOCK_KEYS = ("description", "params", "nodes", "edges")
NODE_KEYS = ("name", "type", "label", "repeat", "params", "position")
EDGE_KEYS = ("from", "to", "port", "from_port")
PARAM_DECL_KEYS = ("type", "default", "min", "max", "choices", "description")
MAX_NODES = 100_000


class Reader:
    """Builds a Graph from a document, collecting defects instead of stopping at the first."""

    def __init__(self, library: bool = True) -> None:
        self.defects: list[str] = []
        self.library = library

    def defect(self, path: str, message: str) -> None:
        self.defects.append(f"{path}: {message}" if path else message)

    def read(self, doc: Any) -> Graph:
        if not isinstance(doc, dict):
            self.defect("", f"the document must be a JSON object, not {_json_type(doc)}")
            return Graph()
        self._check_header(doc)
        self._unknown_keys(doc, TOP_KEYS, "")
        graph = Graph(self._name(doc))
        graph.title = self._text(doc, "title", "")
        graph.source = self._text(doc, "source", "")
        graph.description = self._text(doc, "description", "", limit=10_000)
        declared = [(name, block_doc) for name, block_doc in self._object(doc, "blocks", "").items()
                    if self._declare_block(graph, name, block_doc)]
        # Every block is declared, then every block's nodes (which make its ports) are read before any edge,
        # so blocks may use one another in any order.
        for name, block_doc in declared:
            self._read_nodes(graph.blocks[name], block_doc, f"blocks.{name}", in_block=True)
        for name, block_doc in declared:
            self._read_edges(graph.blocks[name], block_doc, f"blocks.{name}")
            graph.blocks[name].touch()
        graph.params = self._read_param_decls(doc.get("params"), "params")
        graph.param_values = self._read_values(graph, doc.get("values"))
        self._read_body(graph, doc, "", in_block=False)
        graph.brackets = self._read_brackets(graph, doc.get("brackets"))
        graph.training = self._training(doc)
        graph.touch()
        return graph

    # --- header and helpers ----------------------------------------------------------------------------------
    def _check_header(self, doc: dict[str, Any]) -> None:
        if doc.get("format") != FORMAT:
            self.defect("format", f"must be \"{FORMAT}\" (got {describe(doc.get('format'))}): "
                        "this is not a Layerbook graph file")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.defect("version", f"must be a positive integer (got {describe(version)})")
        elif version > VERSION:
            self.defect("version", f"this file was written by a newer Layerbook (format version {version}); "
                        f"this one reads up to version {VERSION}")

    def _unknown_keys(self, obj: dict[str, Any], known: tuple[str, ...], path: str) -> None:
        for key in obj:
            if key not in known:
                self.defect(_join(path, key), f"unknown key{suggest(key, list(known))}")

    def _text(self, obj: dict[str, Any], key: str, path: str, default: str = "", limit: int = 500) -> str:
        value = obj.get(key, default)
        if not isinstance(value, str) or len(value) > limit:
            self.defect(_join(path, key), f"must be a text of at most {limit:,} characters")
            return default
        return value

    def _name(self, doc: dict[str, Any]) -> str:
        """The graph's name (it becomes part of paths, e.g. the run folder's); "untitled" when absent or bad."""
        name = doc.get("name", "untitled")
        if name == "":
            return "untitled"
        problem = graph_name_problem(name)
        if problem:
            shown = json.dumps(name if len(name) <= 60 else name[:40] + "...") if isinstance(name, str) \
                else describe(name)
            self.defect("name", f"{problem} (got {shown})")  # json-escaped: no control character is printed
            return "untitled"
        return name

    def _object(self, obj: dict[str, Any], key: str, path: str) -> dict[str, Any]:
        value = obj.get(key, {})
        if not isinstance(value, dict):
            self.defect(_join(path, key), f"must be an object, not {_json_type(value)}")
            return {}
        return value

    def _list(self, obj: dict[str, Any], key: str, path: str) -> list[Any]:
        value = obj.get(key, [])
        if not isinstance(value, list):
            self.defect(_join(path, key), f"must be a list, not {_json_type(value)}")
            return []
        if len(value) > MAX_NODES:
            self.defect(_join(path, key), f"has {len(value):,} entries; at most {MAX_NODES:,} are supported")
            return []
        return value

    def _training(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The training settings are free-form, but must be writable back to JSON: no non-finite number."""
        training = self._object(doc, "training", "")
        bad = _nonfinite_paths(training, "training")
        for path in bad:
            self.defect(path, "must be a finite number (got a non-finite number)")
        return {} if bad else training

    # --- declarations of meta-parameters (a block's S, a template's N) -----------------------------------------
    def _read_param_decls(self, decls: Any, path: str) -> dict[str, ParamSpec]:
        if decls is None:
            return {}
        if not isinstance(decls, dict):
            self.defect(path, f"must be an object of meta-parameter declarations, not {_json_type(decls)}")
            return {}
        specs = {}
        for name, decl in decls.items():
            spec = self._read_param_decl(name, decl, f"{path}.{name}")
            if spec is not None:
                specs[name] = spec
        return specs

    def _read_param_decl(self, name: str, decl: Any, path: str) -> ParamSpec | None:
        if not name.isidentifier():
            self.defect(path, "a meta-parameter name must be a word (letters, digits, _)")
            return None
        if not isinstance(decl, dict):
            example = '{"type": "int", "default": 1}'
            self.defect(path, f"must be an object such as {example}, not {_json_type(decl)}")
            return None
        self._unknown_keys(decl, PARAM_DECL_KEYS, path)
        kind = decl.get("type")
        if kind not in KINDS:
            self.defect(f"{path}.type", f"must be one of: {', '.join(KINDS)} (got {describe(kind)})")
            return None
        bounds = [decl.get(k) for k in ("min", "max")]
        for key, bound in zip(("min", "max"), bounds, strict=True):
            if bound is not None and (not isinstance(bound, int | float) or isinstance(bound, bool)):
                self.defect(f"{path}.{key}", "must be a number")
                return None
            if _nonfinite(bound):  # 1e999 parses as infinity, which a saved file could not hold
                self.defect(f"{path}.{key}", "must be a number (got a non-finite number)")
                return None
        choices = decl.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            self.defect(f"{path}.choices", "must be a list of texts")
            return None
        spec = ParamSpec(name, kind, None, bounds[0], bounds[1], tuple(choices),
                         description=decl.get("description", "") if isinstance(decl.get("description"), str) else "")
        default = decl.get("default")
        try:
            default = spec.coerce(default)
        except ParamError as exc:
            self.defect(f"{path}.default", f"{exc} (got {describe(default)})")
            return None
        return ParamSpec(name, kind, default, spec.minimum, spec.maximum, spec.choices, description=spec.description)

    def _read_values(self, graph: Graph, values: Any) -> dict[str, Any]:
        if values is None:
            return {}
        if not isinstance(values, dict):
            self.defect("values", f"must be an object, not {_json_type(values)}")
            return {}
        kept = {}
        for key, value in values.items():
            if key not in graph.params:
                self.defect(f"values.{key}", f"no meta-parameter '{key}' is declared under params")
            elif self._check_value(graph.params[key], value, f"values.{key}", allow_expr=True):
                kept[key] = value
        return kept

    # --- nodes and edges -------------------------------------------------------------------------------------
    def _declare_block(self, graph: Graph, name: str, doc: Any) -> bool:
        """Register a block with its meta-parameters (its body is read once every block is declared)."""
        path = f"blocks.{name}"
        if not NAME_PATTERN.match(name.replace("-", "_")):
            self.defect(path, "a block name must be a word (letters, digits, - and _)")
            return False
        if layer_spec(canonical_type(name)) is not None:
            self.defect(path, f"'{name}' is the name of a layer type; give the block another name")
            return False
        if not isinstance(doc, dict):
            self.defect(path, f"must be an object with nodes and edges, not {_json_type(doc)}")
            return False
        self._unknown_keys(doc, BLOCK_KEYS, path)
        block = Graph(name, blocks=graph.blocks)
        block.description = self._text(doc, "description", path, limit=10_000)
        block.params = self._read_param_decls(doc.get("params"), f"{path}.params")
        graph.blocks[name] = block
        return True

    def _read_body(self, graph: Graph, doc: dict[str, Any], path: str, in_block: bool) -> None:
        self._read_nodes(graph, doc, path, in_block)
        self._read_edges(graph, doc, path)

    def _read_nodes(self, graph: Graph, doc: dict[str, Any], path: str, in_block: bool) -> None:
        for index, node_doc in enumerate(self._list(doc, "nodes", path)):
            self._read_node(graph, node_doc, _join(path, f"nodes[{index}]"), in_block)

    def _read_edges(self, graph: Graph, doc: dict[str, Any], path: str) -> None:
        for index, edge_doc in enumerate(self._list(doc, "edges", path)):
            self._read_edge(graph, edge_doc, _join(path, f"edges[{index}]"))

    def _read_node(self, graph: Graph, doc: Any, path: str, in_block: bool) -> None:
        if not isinstance(doc, dict):
            self.defect(path, f"must be an object with a name and a type, not {_json_type(doc)}")
            return
        self._unknown_keys(doc, NODE_KEYS, path)
        name, type_name = doc.get("name"), doc.get("type")
        if not isinstance(type_name, str):
            self.defect(f"{path}.type", f"must be a layer type or a block name (got {describe(type_name)})")
            return
        type_name = canonical_type(type_name)
        try:
            graph.check_name(name)
        except GraphError as exc:
            self.defect(f"{path}.name", str(exc))
            return
        params = doc.get("params", {})
        if not isinstance(params, dict):
            self.defect(f"{path}.params", f"must be an object, not {_json_type(params)}")
            params = {}
        self._check_type_and_params(graph, type_name, params, path, in_block or bool(graph.params))
        repeat = doc.get("repeat", 1)
        if not self._check_repeat(repeat, f"{path}.repeat"):
            repeat = 1
        label = doc.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > 100):
            self.defect(f"{path}.label", "must be a text of at most 100 characters")
            label = None
        position = self._position(doc.get("position"), f"{path}.position")
        # A non-finite number is always a defect (recorded above), and no saved file could hold it: a tolerant
        # load leaves it out rather than keep a value the editor could not save.
        params = {key: value for key, value in params.items() if not _nonfinite_paths(value, key)}
        graph.add(type_name, name, repeat=repeat, label=label, position=position)
        graph.node(name).params.update(params)  # not as keywords: a key such as 'name' would clash with add's

    def _check_type_and_params(self, graph: Graph, type_name: str, params: dict[str, Any], path: str,
                               allow_expr: bool) -> None:
        spec = layer_spec(type_name)
        if spec is not None:
            declared = spec._by_name
        elif type_name in graph.blocks or (self.library and _library_has(type_name)):
            from graph.resolve import find_block

            declared = find_block(graph, type_name).params
        else:
            known = sorted(graph.blocks) + ([] if not self.library else sorted(_library_names()))
            from graph.registry import layer_types

            hint = suggest(type_name, layer_types() + known)
            self.defect(f"{path}.type", f"unknown layer type or block '{type_name}'{hint}")
            return
        for key, value in params.items():
            where = f"{path}.params.{key}"
            if key not in declared:
                self.defect(where, f"{type_name} has no meta-parameter '{key}'{suggest(key, list(declared))}")
            else:
                self._check_value(declared[key], value, where, allow_expr)

    def _check_value(self, spec: ParamSpec, value: Any, path: str, allow_expr: bool) -> bool:
        """Literal values are checked against type and range; expressions are checked to parse."""
        expressions = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        literal_text = spec.kind in (CHOICE, TEXT) or (isinstance(value, str) and value in spec.choices)
        if expressions and not literal_text:
            if not allow_expr:
                self.defect(path, f"must be {spec.expected()} (got {describe(value)}); expressions are allowed "
                            "only inside blocks or with graph meta-parameters")
                return False
            return all(self._parses(e, path) for e in expressions)
        if spec.kind == CHOICE and isinstance(value, str) and value not in spec.choices and allow_expr \
                and value.isidentifier():
            return True
        if _nonfinite(value):
            self.defect(path, f"must be {spec.expected()} (got a non-finite number)")
            return False
        try:
            spec.coerce(value)
        except ParamError as exc:
            self.defect(path, f"{exc} (got {describe(value)})")
            return False
        return True

    def _parses(self, text: str, path: str) -> bool:
        try:
            parse(text)
        except ExpressionError as exc:
            self.defect(path, str(exc))
            return False
        return True

    def _check_repeat(self, repeat: Any, path: str) -> bool:
        if isinstance(repeat, str):
            return self._parses(repeat, path)
        problem = repeat_problem(repeat)
        if problem is None:
            return True
        self.defect(path, f"{problem} or an expression (got {describe(repeat)})")
        return False

    def _position(self, value: Any, path: str) -> tuple[float, float] | None:
        if value is None:
            return None
        ok = isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and abs(v) < 1e9
            for v in value)
        if not ok:
            self.defect(path, "must be a list of two finite numbers [x, y]")
            return None
        return (value[0], value[1])

    def _read_edge(self, graph: Graph, doc: Any, path: str) -> None:
        if not isinstance(doc, dict):
            self.defect(path, f"must be an object {{\"from\": ..., \"to\": ...}}, not {_json_type(doc)}")
            return
        self._unknown_keys(doc, EDGE_KEYS, path)
        ends = []
        for key in ("from", "to"):
            name = doc.get(key)
            if not isinstance(name, str) or name not in graph:
                self.defect(f"{path}.{key}", f"names no node of this graph (got {describe(name)})")
            ends.append(name)
        port, src_port = doc.get("port"), doc.get("from_port")
        for key, value in (("port", port), ("from_port", src_port)):
            if value is not None and not isinstance(value, str):
                self.defect(f"{path}.{key}", f"must be a port name (got {describe(value)})")
                return
        if any(not isinstance(e, str) or e not in graph for e in ends):
            return
        self._connect(graph, ends[0], ends[1], port, src_port, path)

    def _connect(self, graph: Graph, src: str, dst: str, port: str | None, src_port: str | None, path: str) -> None:
        known_in = input_ports(graph, graph.node(dst).type)
        known_out = output_ports(graph, graph.node(src).type)
        if known_in is not None and not known_in:
            self.defect(f"{path}.to", f"'{dst}' has no input port; nothing can be wired into it")
            return
        if known_in is not None and port is not None and port not in known_in:
            self.defect(f"{path}.port", f"'{dst}' has no input port '{port}' (ports: {', '.join(known_in)})")
            return
        if known_out is not None and not known_out:
            self.defect(f"{path}.from", f"'{src}' is an output node; nothing can be wired from it")
            return
        if known_out is not None and src_port is not None and src_port not in known_out:
            self.defect(f"{path}.from_port", f"'{src}' has no output port '{src_port}'")
            return
        graph.connect(src, dst, port, src_port=src_port)

    def _read_brackets(self, graph: Graph, value: Any) -> list[Bracket]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.defect("brackets", f"must be a list, not {_json_type(value)}")
            return []
        brackets = []
        for index, item in enumerate(value):
            path = f"brackets[{index}]"
            ok = isinstance(item, dict) and isinstance(item.get("label"), str) and isinstance(item.get("nodes"), list)
            if not ok:
                self.defect(path, "must be an object {\"label\": text, \"nodes\": [names]}")
                continue
            missing = [n for n in item["nodes"] if not isinstance(n, str) or n not in graph]
            if missing:
                self.defect(f"{path}.nodes", f"names no node of this graph: {describe(missing)}")
                continue
            brackets.append(Bracket(item["label"], list(item["nodes"])))
        return brackets


def _library_names() -> list[str]:
    from graph.library import library_blocks

    return list(library_blocks())


def _library_has(name: str) -> bool:
    return name in _library_names()


def _join(path: str, key: str) -> str:
    key = key or '""'  # an empty key still shows, or its defect would read as one about the whole file
    return f"{path}.{key}" if path else key


def _nonfinite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _nonfinite_paths(value: Any, path: str) -> list[str]:
    """The paths of the non-finite numbers inside a value (JSON's 1e999 parses as infinity)."""
    found, stack = [], [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, _join(where, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif _nonfinite(item):
            found.append(where)
    return sorted(found)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a text", bool: "true/false", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)

