"""One generated class: the body of `__init__` and `forward` for the top-level network or a block instance, and
the text of the class around them."""

from __future__ import annotations

import keyword
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING

from graph.catalog import BOOL, FLOAT, INT, ParamSpec
from graph.inference import Analysis, NodeInfo
from graph.model import Graph, Node
from graph.resolve import block_inputs, block_outputs, resolve
from runtime.codegen.expressions import Scope, Shape, literal
from runtime.codegen.helpers import RESERVED
from runtime.codegen.layers import WRITERS, Code, Layer, Ports
from runtime.codegen.shapes import output_shape
from runtime.codegen.variables import Names, Value, Variables, chain_order
from runtime.compile import module_name

if TYPE_CHECKING:
    from runtime.codegen.source_file import FileWriter


class ClassWriter:
    """Writes the body of one class: the top-level network, or one instance of a block."""

    def __init__(self, file: FileWriter, graph: Graph, analysis: Analysis, scope: Scope,
                 inputs: Mapping[str, Shape]) -> None:
        self.file, self.graph, self.analysis, self.scope = file, graph, analysis, scope
        self.shapes: dict[Value, Shape] = {(name, "y"): shape for name, shape in inputs.items()}
        self.vars = Variables(graph, Names(RESERVED))
        self.init: list[str] = []
        self.body: list[str] = []

    def write(self) -> tuple[list[str], list[str]]:
        """The lines of `__init__` after `super().__init__()`, and `forward` with its signature."""
        for name in chain_order(self.graph):
            node = self.graph.node(name)
            if node.type not in ("input", "output"):
                self._node(node, self.analysis.nodes[name])
        self.init += self._ties()
        return self.init, self._forward()

    def _ties(self) -> list[str]:
        """A fully-conn tied to an embedding shares its table, after both are made."""
        lines = []
        for name, info in self.analysis.nodes.items():
            target = info.values.get("tie") if info.type == "fully-conn" else None
            if target is not None:
                layer, table = (_reference(module_name(self.graph, n)) for n in (name, target))
                lines.append(f"{layer}.weight = {table}.weight  # tied: one table for both")
        return lines

    def _node(self, node: Node, info: NodeInfo) -> None:
        ports = self._ports(node)
        sources = [value for values in ports.values() for value in values]
        codes, outputs = self._copies(node, info, {p: [self.shapes[v] for v in vs] for p, vs in ports.items()})
        first_port = next(iter(ports), "x")
        if codes[0].init is not None:
            sequential = len(ports) == 1 and _plain(codes[0], first_port)  # side inputs need a loop instead
            init = codes[0].init if len(codes) == 1 else _container(codes, sequential)
            self.init.append(_assignment(module_name(self.graph, node.name), init))
        args = {port: [self.vars.var_of[v] for v in values] for port, values in ports.items()}
        self.vars.consume(sources)
        for port, shape in outputs.items():
            self.shapes[node.name, port] = shape
        self.body += self._statements(node, codes, args, sources, list(outputs))

    def _ports(self, node: Node) -> dict[str, list[Value]]:
        """The values arriving on each port, ports in their declared order and values in edge order."""
        target = resolve(self.graph, node.type)
        order = block_inputs(target) if isinstance(target, Graph) else [p.name for p in target.inputs]
        edges = self.graph.in_edges(node.name)
        ports = {port: [(e.src, e.src_port) for e in edges if e.port == port] for port in order}
        return {port: values for port, values in ports.items() if values}

    def _copies(self, node: Node, info: NodeInfo, shapes: Mapping[str, list[Shape]]
                ) -> tuple[list[Code], dict[str, Shape]]:
        """Each copy's code (the copies after inference's fixed point all read the same as the last one
        inferred), and the symbolic shape of each output of the last copy."""
        codes: list[Code] = []
        outputs: dict[str, Shape] = {}
        for index in range(min(info.copies, len(info.stages) + 1)):
            code, outputs = self._copy(node, info, index, shapes)
            codes.append(code)
            shapes = {**shapes, next(iter(shapes)): [next(iter(outputs.values()))]} if shapes else {}
        return codes + [codes[-1]] * (info.copies - len(codes)), outputs

    def _copy(self, node: Node, info: NodeInfo, index: int, shapes: Mapping[str, list[Shape]]
              ) -> tuple[Code, dict[str, Shape]]:
        target = resolve(self.graph, node.type)
        if isinstance(target, Graph):
            layer = Layer(node, target.params, info.values, shapes, self.scope, self.file.needs)
            code = self.file.instance(layer, target, info.stage(index))
        else:
            specs = {p.name: p for p in target.params}
            layer = Layer(node, specs, info.values, shapes, self.scope, self.file.needs)
            code = WRITERS[node.type](layer)
        if index + 1 < info.copies:  # the next copy's input is this copy's output
            out_types = {next(iter(info.outputs)): next(iter(info.stage(index + 1).inputs.values()))[0]}
        else:
            out_types = info.outputs
        return code, {port: output_shape(layer, t) for port, t in out_types.items()}

    def _statements(self, node: Node, codes: list[Code], args: Ports, sources: list[Value],
                    ports: list[str]) -> list[str]:
        code, module = codes[0], _reference(module_name(self.graph, node.name))
        values = [(node.name, port) for port in ports]
        if not any(self.vars.needed(v) for v in values):  # a dead end: only a module's side effects remain
            return [code.call(module, args)] if code.init is not None and len(codes) == 1 else []
        if len(values) > 1:  # a block with several outputs
            targets = [self.vars.bind(v, self.vars.names.claim(f"{node.name}_{v[1]}")) for v in values]
            return [f"{', '.join(targets)} = {code.call(module, args)}"]
        side = [var for port, names in list(args.items())[1:] for var in names] if len(codes) > 1 else []
        target = self.vars.bind(values[0], self.vars.target(node.name, sources, keep=side))
        terms = args.get("x", [])
        if node.type in ("+", "mul") and len(terms) == 2 and terms[1] == target:
            args = {"x": terms[::-1]}  # `x = x + skip`: two terms commute exactly, in floating point too
        lhs = f"{target}, _" if code.unpack else target
        if len(codes) == 1:
            return [f"{lhs} = {code.call(module, args)}"]
        port, (source,) = next(iter(args.items()))
        if len(args) == 1 and _plain(code, port):
            return [f"{target} = {module}({source})"]
        loop = self.vars.names.claim("layer") if code.init is not None else "_"
        head = f"for {loop} in {module}:" if code.init is not None else f"for _ in range({len(codes)}):"
        start = [] if target == source else [f"{target} = {source}"]
        return [*start, head, f"    {lhs} = {code.call(loop, {**args, port: [target]})}"]

    def _forward(self) -> list[str]:
        params = "".join(f", {p}: torch.Tensor" for p in self.vars.params)
        results = [self.vars.var_of[e.src, e.src_port]
                   for name in block_outputs(self.graph) for e in self.graph.in_edges(name)]
        returns = "torch.Tensor" if len(results) == 1 else f"tuple[{', '.join(['torch.Tensor'] * len(results))}]"
        body = list(self.body)
        single = results[0] if len(results) == 1 else None
        if single and single not in self.vars.params and body and body[-1].startswith(f"{single} = "):
            body[-1] = "return " + body[-1][len(single) + 3:]  # `x = f(x)` then `return x` reads as `return f(x)`
        else:
            body.append(f"return {', '.join(results)}")
        return [f"def forward(self{params}) -> {returns}:", *(f"    {line}" for line in body)]


def _reference(name: str) -> str:
    """A sub-module as `forward` reads it (a node may be named like a Python keyword)."""
    return f'getattr(self, "{name}")' if keyword.iskeyword(name) else f"self.{name}"


def _assignment(name: str, init: str) -> str:
    return f'setattr(self, "{name}", {init})' if keyword.iskeyword(name) else f"self.{name} = {init}"


def _container(codes: list[Code], sequential: bool) -> str:
    """The copies of a repeated node: runs of three or more equal copies are written as a comprehension."""
    parts: list[str] = []
    inits = [c.init or "" for c in codes]
    start = 0
    while start < len(inits):
        end = start
        while end < len(inits) and inits[end] == inits[start]:
            end += 1
        count = end - start
        parts += [inits[start]] * count if count < 3 else [f"*[{inits[start]} for _ in range({count})]"]
        start = end
    if sequential:
        return f"nn.Sequential({', '.join(parts)})"
    if len(parts) == 1 and parts[0].startswith("*"):
        return f"nn.ModuleList({parts[0][1:]})"
    return f"nn.ModuleList([{', '.join(parts)}])"


def _plain(code: Code, port: str) -> bool:
    """Whether the copies of a repeated node can be chained by nn.Sequential (one tensor in, one out)."""
    return code.init is not None and not code.unpack and code.call("m", {port: ["a"]}) == "m(a)"


def _docstring_line(line: str) -> str:
    """A line of user text made safe inside triple quotes: backslashes, quotes and control characters escaped."""
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line.replace("\\", "\\\\"))
    return text.replace('"', '\\"') if '"""' in text or text.endswith('"') else text


def docstring(lines: list[str], indent: str) -> list[str]:
    text = [_docstring_line(line) for line in lines]
    if len(text) == 1:
        return [f'{indent}"""{text[0]}"""']
    return [f'{indent}"""{text[0]}', *(f"{indent}{line}" if line else "" for line in text[1:]), f'{indent}"""']


def class_source(name: str, doc: str, params: str, init: list[str], forward: list[str]) -> str:
    lines = [f"class {name}(nn.Module):"]
    if doc:
        lines += docstring(textwrap.wrap(doc if doc.endswith(".") else f"{doc}.", 100), "    ")
    if init:
        lines += ["", f"    def __init__(self{params}) -> None:", "        super().__init__()",
                  *(f"        {line}" for line in init)]
    return "\n".join([*lines, "", *(f"    {line}" if line else "" for line in forward)])


_PYTHON_TYPES = {INT: "int", FLOAT: "float", BOOL: "bool"}


def parameter(name: str, spec: ParamSpec | None) -> str:
    """A constructor parameter: a shape symbol has no default, a block's meta-parameter has the block's."""
    if spec is None:
        return f"{name}: int"
    return f"{name}: {_PYTHON_TYPES.get(spec.kind, 'int')} = {literal(spec.default)}"
