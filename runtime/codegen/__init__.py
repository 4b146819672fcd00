"""Write a network as one self-contained PyTorch file: a plain `nn.Module` for the network and for each block.

The file needs torch only and reads like code written by hand. `__init__` builds each layer with literal sizes and
only the keyword arguments that differ from torch's defaults; `forward` follows the graph in topological order,
carrying each chain in one running variable and naming only the values still needed while the chain goes on
(skip connections). Parameter-free operations are written inline (`torch.relu(x)`, `F.max_pool2d(x, 3)`); layers
with parameters or buffers are sub-modules named after their nodes, so the class's `state_dict` has exactly the
keys of `build_module(graph)` and a compiled model's weights load into it.

A block becomes a class of its own, whose constructor takes the block's shape symbols and meta-parameters
(`Dresblock(64, S=1)`) where its layers' sizes follow from them. Every such expression is written only after
checking that it gives the sizes inference found for the instance at hand (else the literal size is written), and
instances whose classes read the same share one class.
"""

from __future__ import annotations

from pathlib import Path

from graph.fileformat import atomic_write
from graph.model import Graph
from runtime.codegen.expressions import ALWAYS, Arg, Scope, Shape, literal, python_expression
from runtime.codegen.helpers import RESERVED
from runtime.codegen.layers import Call, Code, Layer, Ports
from runtime.codegen.source_file import FileWriter
from runtime.codegen.variables import Value
from runtime.compile import CompileError

__all__ = ["ALWAYS", "RESERVED", "Arg", "Call", "Code", "Layer", "Ports", "Scope", "Shape", "Value",
           "generate_source", "literal", "python_expression", "write_source"]


def generate_source(graph: Graph) -> str:
    """The graph as the source of a Python file defining its `nn.Module` class (named by `class_name`)."""
    analysis = graph.analyze()
    if not analysis.ok:
        raise CompileError(graph.name, analysis.errors)
    return FileWriter(graph, analysis).source()


def write_source(graph: Graph, path: str | Path) -> Path:
    """Write the generated source to `path` (atomically) and return the path."""
    target = Path(path)
    atomic_write(target, generate_source(graph).encode("utf-8"))
    return target
