"""The health of each box during training, so a problem is seen where it happens: the norm of the gradient of
its parameters (vanishing or exploding), the fraction of a relu's outputs that are zero (dead units), and
whether its output held NaN or Inf.

Measured every `every` steps only: forward hooks are armed for that one step, gradient norms are read after its
backward pass. A box of the graph is a top-level sub-module of the compiled model (a block instance or a repeat
counts as one box: its figures cover everything inside it).
"""

from __future__ import annotations

import torch
from torch import nn

from graph import Graph
from runtime.compile import module_name
from runtime.training.events import NodeHealth

DEAD_TYPES = ("relu",)


class HealthMonitor:
    def __init__(self, graph: Graph, model: nn.Module, every: int) -> None:
        self.every = every
        self.boxes: dict[str, nn.Module] = {}
        self.types: dict[str, str] = {}
        for node in graph.nodes:
            module = getattr(model, module_name(graph, node.name), None)
            if isinstance(module, nn.Module):
                self.boxes[node.name] = module
                self.types[node.name] = node.type
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._dead: dict[str, torch.Tensor] = {}
        self._nonfinite: dict[str, torch.Tensor] = {}

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def arm(self) -> None:
        """Watch the outputs of the next forward pass."""
        for name, module in self.boxes.items():
            self._handles.append(module.register_forward_hook(self._watcher(name)))

    def _watcher(self, name: str):
        def watch(_module: nn.Module, _inputs: object, output: object) -> None:
            if not isinstance(output, torch.Tensor) or not output.is_floating_point():
                return
            detached = output.detach()
            self._nonfinite[name] = ~torch.isfinite(detached).all()
            if self.types[name] in DEAD_TYPES:
                self._dead[name] = (detached == 0).float().mean()
        return watch

    def collect(self) -> dict[str, NodeHealth]:
        """The figures of the armed step (call after backward, before the optimizer clears the gradients)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        report = {name: NodeHealth(_grad_norm(module), _value(self._dead.get(name)),
                                   bool(self._nonfinite[name]) if name in self._nonfinite else False)
                  for name, module in self.boxes.items()}
        self._dead.clear()
        self._nonfinite.clear()
        return report


def _grad_norm(module: nn.Module) -> float | None:
    grads = [p.grad.detach() for p in module.parameters() if p.grad is not None]
    if not grads:
        return None
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))


def _value(tensor: torch.Tensor | None) -> float | None:
    return None if tensor is None else float(tensor)
