"""The model of a network: layer catalogue, graph, blocks and repeats, shape inference, validation, files.

Pure Python and networkx: never imports Qt or torch, so the editor starts and validates without loading torch.
"""

from graph.catalog import LayerSpec, ParamSpec, PortSpec
from graph.fileformat import GraphFileError, dumps, load_graph, loads, save_graph
from graph.inference import Analysis, NodeInfo
from graph.model import Bracket, Edge, Graph, GraphError, Node
from graph.problems import Problem
from graph.registry import layer_spec, layer_types
from graph.tensor import TensorType

__all__ = [
    "Analysis", "Bracket", "Edge", "Graph", "GraphError", "GraphFileError", "LayerSpec", "Node", "NodeInfo",
    "ParamSpec", "PortSpec", "Problem", "TensorType", "dumps", "layer_spec", "layer_types", "load_graph", "loads",
    "save_graph",
]
