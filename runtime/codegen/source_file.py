"""One generated file: its docstring and imports, the helpers and block classes it needs (each block class
written once however often it is used), the network's class and a short `__main__` that runs it."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from graph.inference import Analysis, Stage
from graph.model import Graph
from graph.resolve import block_inputs, block_outputs
from graph.tensor import TensorType
from runtime.codegen.classes import ClassWriter, class_source, docstring, parameter
from runtime.codegen.expressions import Arg, Scope, Shape, literal, python_expression
from runtime.codegen.helpers import HELPER_NEEDS, HELPERS, RESERVED
from runtime.codegen.layers import Code, Layer
from runtime.codegen.variables import Names
from runtime.compile import class_name
from runtime.inputs import EXAMPLE_BATCH, token_bound


class FileWriter:
    """Collects one file: the helpers it needs and each block class, written once however often it is used."""

    def __init__(self, graph: Graph, analysis: Analysis) -> None:
        self.graph, self.analysis = graph, analysis
        self.needs: set[str] = set()
        self.classes: list[str] = []  # block classes in the order they are defined, inner blocks first
        self.keys: dict[tuple[str, ...], str] = {}
        self.top = top_class(graph)
        self.taken = RESERVED | {self.top}

    def source(self) -> str:
        inputs = {name: tuple(Arg(d) for d in self._type(name).shape) for name in block_inputs(self.graph)}
        init, forward = ClassWriter(self, self.graph, self.analysis, Scope(), inputs).write()
        top = class_source(self.top, self.graph.title or f"The network `{self.graph.name}`", "", init, forward)
        head = "\n".join(self._docstring()) + "\n\n" + self._imports()
        return "\n\n\n".join([head, *self._helpers(), *self.classes, top, self._main()]) + "\n"

    def instance(self, layer: Layer, block: Graph, stage: Stage) -> Code:
        """The construction of one copy of a block instance, and its call."""
        name, signature, symbols = self._block_class(layer.node.type, block, stage, layer.values)
        positional = [layer.shapes[symbols[s][0]][0][symbols[s][1]] for s in signature if s in symbols]
        keywords = {p: (layer.param(p), block.params[p].default) for p in signature if p in block.params}
        ports = block_inputs(block)
        return Code(layer.new(name, positional, **keywords),
                    lambda m, p: f"{m}({', '.join(p[port][0] for port in ports)})")

    def _block_class(self, type_name: str, block: Graph, stage: Stage, values: Mapping[str, Any]
                     ) -> tuple[str, list[str], dict[str, tuple[str, int]]]:
        assert stage.inner is not None  # inference analysed the inside of every block instance it accepted
        symbols, bound, inputs = _bind(block, values, stage.inputs)
        scope = Scope({**values, **bound})
        init, forward = ClassWriter(self, block, stage.inner, scope, inputs).write()
        signature = [s for s in symbols if s in scope.used] + [p for p in block.params if p in scope.used]
        params = "".join(f", {parameter(n, block.params.get(n) if n not in symbols else None)}" for n in signature)
        key = (type_name, params, *init, *forward)
        if key not in self.keys:
            self.keys[key] = self._class_name(class_name(type_name))
            self.classes.append(class_source(self.keys[key], block.description, params, init, forward))
        return self.keys[key], signature, symbols

    def _class_name(self, base: str) -> str:
        name, index = base, 2
        while name in self.taken:
            name, index = f"{base}{index}", index + 1
        self.taken.add(name)
        return name

    def _type(self, node: str) -> TensorType:
        info = self.analysis.nodes[node]
        return info.outputs["y"] if info.type == "input" else info.inputs["x"][0]

    def _docstring(self) -> list[str]:
        g = self.graph
        lines = [f"{g.title or class_name(g.name)}: the network `{g.name}` as a PyTorch module."]
        lines += ["", *textwrap.wrap(g.source, 100)] if g.source else []
        lines += ["", *textwrap.wrap(g.description, 100)] if g.description else []
        lines += ["", f"Trainable parameters: {self.analysis.parameters:,}"]
        lines += [f"Input {n}: {self._type(n)}" for n in block_inputs(g)]
        lines += [f"Output {n}: {self._type(n)}" for n in block_outputs(g)]
        return [*docstring([*lines, "Shapes are those of one sample: a batch adds a first dimension."], "")]

    def _imports(self) -> str:
        functional = ["import torch.nn.functional as F"] if "F" in self.needs else []
        return "\n".join(["import torch", *functional, "from torch import nn"])

    def _helpers(self) -> list[str]:
        needed = self.needs | {n for need in self.needs for n in HELPER_NEEDS.get(need, ())}
        return [text.strip("\n") for name, text in HELPERS.items() if name in needed]

    def _main(self) -> str:
        names = Names(self.taken | {"model"})
        inputs = [names.claim(n) for n in block_inputs(self.graph)]
        outputs = [names.claim(n) for n in block_outputs(self.graph)]
        lines = [f"model = {self.top}().eval()"]
        lines += [f"{var} = {self._sample(n)}" for var, n in zip(inputs, block_inputs(self.graph), strict=True)]
        lines += ["with torch.no_grad():  # an example, not training: no gradients to keep",
                  f"    {', '.join(outputs)} = model({', '.join(inputs)})",
                  f"print({', '.join(f'{o}.shape' for o in outputs)})"]
        return 'if __name__ == "__main__":\n' + "\n".join(f"    {line}" for line in lines)

    def _sample(self, name: str) -> str:
        """A random batch for an input: token ids below every vocabulary they are looked up in (its resolved
        size: a template's knob, `V`, means nothing in the file)."""
        t = self._type(name)
        size = literal((EXAMPLE_BATCH, *t.shape))
        if t.dtype == "float":
            return f"torch.randn{size}" if t.rank else f"torch.randn({EXAMPLE_BATCH})"
        return f"torch.randint({token_bound(self.analysis, name, self.graph.node(name).params)}, {size})"


def top_class(graph: Graph) -> str:
    """The name of the network's class in its file: `gpt2-small` → `Gpt2Small` (`FModel` for `f`)."""
    top = class_name(graph.name)
    return top if top not in RESERVED else f"{top}Model"


def _bind(block: Graph, params: Mapping[str, Any], ports: Mapping[str, list[TensorType]]
          ) -> tuple[dict[str, tuple[str, int]], dict[str, int], dict[str, Shape]]:
    """The shape symbols an instance binds (`C` of an input drawn C×H×W) with where each comes from, their
    values, and the symbolic shape of each input."""
    symbols: dict[str, tuple[str, int]] = {}
    bound: dict[str, int] = {}
    shapes: dict[str, Shape] = {}
    for name in block_inputs(block):
        t = ports[name][0]
        pattern = block.node(name).params.get("shape")
        entries = list(pattern) if isinstance(pattern, list | tuple) and len(pattern) == t.rank else [None] * t.rank
        for dim, (entry, size) in enumerate(zip(entries, t.shape, strict=True)):
            if isinstance(entry, str) and entry.isidentifier() and entry not in params and entry not in bound:
                bound[entry], symbols[entry] = size, (name, dim)
        shapes[name] = tuple(Arg(size, python_expression(entry, True) if isinstance(entry, str) else None)
                             for entry, size in zip(entries, t.shape, strict=True))
    return symbols, bound, shapes
