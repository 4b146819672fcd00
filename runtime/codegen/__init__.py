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

`write_source` reports a file written only once it has been checked (`verify.py`): a fresh interpreter runs its
example and finds that its class, given the compiled module's weights, computes the compiled module's outputs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from graph.model import Graph
from graph.outputs import check_output, replacing
from runtime.codegen.expressions import ALWAYS, Arg, Scope, Shape, literal, python_expression
from runtime.codegen.helpers import RESERVED
from runtime.codegen.layers import Call, Code, Layer, Ports
from runtime.codegen.source_file import FileWriter, top_class
from runtime.codegen.variables import Value
from runtime.codegen.verify import Job, SourceError, Verified, verify
from runtime.compile import CompileError
from runtime.inputs import CHECK_BATCH
from runtime.out_of_memory import TooLarge, check_runs_here, named_out_of_memory

__all__ = ["ALWAYS", "RESERVED", "Arg", "Call", "Code", "Layer", "Ports", "Scope", "Shape", "SourceError",
           "SourceReport", "Value", "generate_source", "literal", "python_expression", "top_class", "write_source"]


@dataclass(frozen=True)
class SourceReport:
    """A generated file written after its check: where, its class, and what the check found."""

    path: Path
    class_name: str
    seconds: float
    check: Verified

    def summary(self) -> str:
        """What the command line prints: the file, and what was verified."""
        return "\n".join([
            f"wrote {self.path} (class {self.class_name}) in {self.seconds:.1f} s",
            f"  verified in a fresh interpreter: its example runs and prints {self.check.printed or 'nothing'}",
            f"  {self.class_name}() with the compiled module's weights (loaded strictly) computes its outputs at "
            f"{self.check.inputs()}: {self.check.parity}",
        ])


def generate_source(graph: Graph) -> str:
    """The graph as the source of a Python file defining its `nn.Module` class (named by `class_name`)."""
    return _writer(graph).source()


def write_source(graph: Graph, path: str | os.PathLike[str]) -> SourceReport:
    """Write the generated source to `path` once a fresh interpreter has run it and found that it computes what
    the compiled module computes; a SourceError (and no file) when it does not."""
    start = time.perf_counter()
    target = check_output(path, (".py",))
    writer = _writer(graph)
    # the compiled module, then in the checking interpreter the class and the weights loaded into it
    check_runs_here(graph, CHECK_BATCH, "checking the generated file", weight_copies=2)
    source = writer.source()
    with named_out_of_memory(graph, "checking the generated file"), replacing(target) as temporary:
        with temporary.open("wb") as stream:
            stream.write(source.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        (check,) = verify([Job(graph, temporary, writer.top)])
        if isinstance(check, TooLarge):
            raise check
        if isinstance(check, SourceError):
            raise SourceError(f"the file generated for '{graph.name}' was not written: {check} (a fault of "
                              "Layerbook's code generator: please report it with the graph)")
    return SourceReport(target, writer.top, time.perf_counter() - start, check)


def _writer(graph: Graph) -> FileWriter:
    analysis = graph.analyze()
    if not analysis.ok:
        raise CompileError(graph.name, analysis.errors)
    return FileWriter(graph, analysis)
