"""What a graph asks of its data: its inputs (shape, dtype, vocabulary) and its outputs (shape, loss).

Datasets are fitted to this description: a built-in image set renders at the input's size, a text corpus checks
that its symbols fit the input's vocabulary, and every mismatch is explained with the node it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph import Graph


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int, ...]  # one sample, batch excluded
    dtype: str  # "float" or "int"
    vocab: int | None = None  # number of token ids an int input accepts


@dataclass(frozen=True)
class OutputSpec:
    name: str
    shape: tuple[int, ...]  # what the model gives for one sample (class scores last for cross-entropy)
    loss: str  # "cross-entropy", "mse", "bce", "l1" or "none"

    @property
    def classes(self) -> int | None:
        """Number of classes of a cross-entropy output (its last dimension)."""
        return self.shape[-1] if self.loss == "cross-entropy" and self.shape else None

    @property
    def target_shape(self) -> tuple[int, ...]:
        """Shape of one sample's target: class ids drop the class dimension, values keep the output's shape."""
        return self.shape[:-1] if self.loss == "cross-entropy" else self.shape


@dataclass(frozen=True)
class GraphSpec:
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]

    @classmethod
    def of(cls, graph: Graph) -> GraphSpec:
        """The spec of a valid graph (inferred shapes; raises ValueError naming the problem otherwise)."""
        analysis = graph.analyze()
        if not analysis.ok:
            raise ValueError(f"'{graph.name}' has problems: {analysis.errors[0].message}")
        inputs = []
        for node in graph.nodes_of_type("input"):
            values = analysis.nodes[node.name].values
            vocab = values.get("vocab_size")
            if values.get("dtype") == "int" and vocab is None:
                from runtime.inputs import smallest_vocabulary

                vocab = smallest_vocabulary(analysis)
            inputs.append(InputSpec(node.name, tuple(values["shape"]), values.get("dtype", "float"),
                                    int(vocab) if vocab is not None else None))
        outputs = []
        for node in graph.nodes_of_type("output"):
            info = analysis.nodes[node.name]
            outputs.append(OutputSpec(node.name, tuple(info.input.shape), info.values.get("loss", "cross-entropy")))
        return cls(tuple(inputs), tuple(outputs))

    def describe_inputs(self) -> str:
        return ", ".join(f"'{i.name}' {_shape(i.shape)} {i.dtype}" for i in self.inputs)


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"
